import fs from 'node:fs';
import path from 'node:path';
import { projectPath } from '../project-paths.js';

export const VIEWS_DIR = projectPath('views');

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A page's data: plain values, nested view models, and lists of them. Never markup. */
export type ViewModel = { [name: string]: unknown };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string; raw: boolean }
  | { kind: 'section'; name: string; inverted: boolean; children: Node[] }
  | { kind: 'partial'; name: string };

// Names are word characters and dots; a partial (a views/*.html file) may also have hyphens.
const TAG = /\{\{\{(\w+)\}\}\}|\{\{([#^/>]?)\s*([\w.-]+)\s*\}\}/g;

function parse(template: string, file: string): Node[] {
  // A `{{` the grammar does not read would reach the page as text: refuse the view at start-up instead.
  const stray = template.replace(TAG, '').indexOf('{{');
  if (stray >= 0) throw new Error(`view ${file}: unreadable tag ${template.replace(TAG, '').slice(stray, stray + 40)}`);
  const root: Node[] = [];
  const stack: Array<{ name: string; children: Node[] }> = [{ name: '', children: root }];
  let last = 0;
  for (const m of template.matchAll(TAG)) {
    const top = stack[stack.length - 1]!;
    if (m.index > last) top.children.push({ kind: 'text', text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      top.children.push({ kind: 'var', name: m[1], raw: true });
      continue;
    }
    const [sigil, name] = [m[2], m[3]!];
    if (sigil === '#' || sigil === '^') {
      const section: Node = { kind: 'section', name, inverted: sigil === '^', children: [] };
      top.children.push(section);
      stack.push({ name, children: section.children });
    } else if (sigil === '/') {
      if (top.name !== name) throw new Error(`view ${file}: {{/${name}}} closes {{#${top.name}}}`);
      stack.pop();
    } else if (sigil === '>') top.children.push({ kind: 'partial', name });
    else top.children.push({ kind: 'var', name, raw: false });
  }
  if (stack.length > 1) throw new Error(`view ${file}: {{#${stack[stack.length - 1]!.name}}} is not closed`);
  if (last < template.length) root.push({ kind: 'text', text: template.slice(last) });
  return root;
}

/**
 * Server-rendered pages from `views/*.html` with a small mustache-like language:
 * - `{{name}}` is HTML-escaped; `{{.}}` is the current list item.
 * - `{{{name}}}` is inserted as is: only for the layout's `content`, which is a rendered view.
 * - `{{#name}}…{{/name}}` repeats for each item of a list (the item's fields come into scope),
 *   shows once with a nested view model in scope, or once when `name` is truthy;
 *   `{{^name}}…{{/name}}` shows when `name` is falsy or an empty list.
 * - `{{>name}}` includes another view with the same data.
 *
 * Templates are parsed once; a value is inserted after parsing, so it is never scanned again:
 * a user whose name is `{{csrf}}` sees exactly that. Handlers build view models, never HTML.
 */
export class Views {
  readonly #templates = new Map<string, Node[]>();
  readonly #escape: (value: unknown) => string;

  /**
   * `dir`: the templates (`views/` by default; `views/emails/` for email). `extension` and
   * `escape` let plain-text email bodies (`.txt`, nothing to escape) use the same language.
   */
  constructor(dir = VIEWS_DIR, options: { extension?: string; escape?: (value: unknown) => string } = {}) {
    const extension = options.extension ?? '.html';
    this.#escape = options.escape ?? escapeHtml;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(extension))) {
      this.#templates.set(file.slice(0, -extension.length), parse(fs.readFileSync(path.join(dir, file), 'utf8'), file));
    }
  }

  /** Whether a template of this name exists. */
  has(name: string): boolean {
    return this.#templates.has(name);
  }

  private nodes(name: string): Node[] {
    const nodes = this.#templates.get(name);
    if (!nodes) throw new Error(`unknown view ${name}`);
    return nodes;
  }

  private lookup(scopes: unknown[], name: string): unknown {
    if (name === '.') return scopes[scopes.length - 1];
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i];
      if (scope !== null && typeof scope === 'object' && name in scope) return (scope as ViewModel)[name];
    }
    return undefined;
  }

  private draw(nodes: Node[], scopes: unknown[], depth: number): string {
    if (depth > 20) throw new Error('views nested too deeply');
    let out = '';
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'var') {
        const value = this.lookup(scopes, node.name);
        out += node.raw ? String(value ?? '') : this.#escape(value);
      } else if (node.kind === 'partial') out += this.draw(this.nodes(node.name), scopes, depth + 1);
      else {
        const value = this.lookup(scopes, node.name);
        const empty = !value || (Array.isArray(value) && value.length === 0);
        if (node.inverted) {
          if (empty) out += this.draw(node.children, scopes, depth + 1);
        } else if (Array.isArray(value)) {
          for (const item of value) out += this.draw(node.children, [...scopes, item], depth + 1);
        } else if (!empty) {
          out += this.draw(node.children, typeof value === 'object' ? [...scopes, value] : scopes, depth + 1);
        }
      }
    }
    return out;
  }

  /** One view alone (no layout). */
  fragment(name: string, model: ViewModel): string {
    return this.draw(this.nodes(name), [model], 0);
  }

  /** The page `name` inside the layout; the page's text is inserted into the layout unscanned. */
  render(name: string, title: string, model: ViewModel): string {
    return this.draw(this.nodes('layout'), [{ ...model, title, content: this.fragment(name, model) }], 0);
  }
}
