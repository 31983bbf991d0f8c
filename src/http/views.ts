import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VIEWS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Server-rendered pages from `views/*.html`: `{{name}}` is HTML-escaped, `{{{name}}}` is
 * inserted as is and must only ever receive markup built here from escaped parts.
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
    if (!template) throw new Error(`unknown view ${name}`);
    return template
      .replace(/\{\{\{(\w+)\}\}\}/g, (_, k: string) => String(vars[k] ?? ''))
      .replace(/\{\{(\w+)\}\}/g, (_, k: string) => escapeHtml(vars[k]));
  }

  render(name: string, title: string, vars: Record<string, unknown>): string {
    return this.fill('layout', { title, content: this.fill(name, vars) });
  }
}
