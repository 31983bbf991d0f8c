import path from 'node:path';
import type { ComposedEmail, EmailComposer, EmailTemplate } from '../domain/mail/mail.js';
import { VIEWS_DIR, Views } from '../http/views.js';

const EMAILS_DIR = path.join(VIEWS_DIR, 'emails');

/**
 * Emails from `views/emails/`: `<name>.txt` (first line the subject, then a blank line, then the
 * text body) and `<name>.html` (inside `layout.html`). The same template language as the pages;
 * HTML values are escaped, text values are not (a name with `&` reads as written).
 */
export class ViewsEmailComposer implements EmailComposer {
  readonly #html = new Views(EMAILS_DIR);
  readonly #text = new Views(EMAILS_DIR, { extension: '.txt', escape: (v) => String(v ?? '') });

  constructor(templates: readonly EmailTemplate[] = []) {
    // Every template must exist in both forms: a missing one stops start-up, not a send.
    for (const t of templates) {
      if (!this.#html.has(t) || !this.#text.has(t)) throw new Error(`email template ${t} needs ${t}.txt and ${t}.html`);
    }
  }

  compose(template: EmailTemplate, data: Record<string, unknown>): ComposedEmail {
    const text = this.#text.fragment(template, data);
    const newline = text.indexOf('\n');
    const subject = (newline < 0 ? text : text.slice(0, newline)).trim();
    const body = newline < 0 ? '' : text.slice(newline + 1).replace(/^\s*\n/, '');
    return { subject, text: body, html: this.#html.render(template, subject, data) };
  }
}

export const EMAIL_TEMPLATES: readonly EmailTemplate[] = [
  'verify-email',
  'account-exists',
  'password-reset',
  'password-changed',
  'sign-in-code',
  'sign-in-link',
  'new-device',
  'account-locked',
  'verify-new-email',
  'email-changed',
  'account-deleted',
];
