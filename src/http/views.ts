import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VIEWS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Server-rendered pages from `views/*.html`: `{{name}}` is HTML-escaped, `{{{name}}}` is
 * inserted as is and must only ever receive markup built here from escaped parts, and
 * `{{#name}}…{{/name}}` keeps its content only when `name` is truthy.
 *
 * Sections are resolved on the template text first; then every variable is replaced in one
 * pass, so an inserted value is never scanned again: a user whose name is `{{csrf}}` sees
 * exactly that, never another variable's value.
 */
export class Views {
  readonly #templates = new Map<string, string>();

  constructor(dir = VIEWS_DIR) {
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.html'))) {
      this.#templates.set(file.slice(0, -5), fs.readFileSync(path.join(dir, file), 'utf8'));
    }
  }

  private fill(name: string, vars: Record<string, unknown>): string {
    const template = this.#templates.get(name);
    if (template === undefined) throw new Error(`unknown view ${name}`);
    const shown = template.replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, k: string, inner: string) =>
      vars[k] ? inner : '',
    );
    return shown.replace(
      /\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g,
      (_, raw: string | undefined, escaped: string | undefined) =>
        raw !== undefined ? String(vars[raw] ?? '') : escapeHtml(vars[escaped!]),
    );
  }

  /** The page `name` inside the layout; the page's text is inserted into the layout unscanned. */
  render(name: string, title: string, vars: Record<string, unknown>): string {
    return this.fill('layout', { title, content: this.fill(name, vars) });
  }
}
