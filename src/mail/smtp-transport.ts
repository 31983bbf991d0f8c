import type nodemailer from 'nodemailer';
import type { Config } from '../config/config.js';

/** One message as the outbox worker hands it to the transport. */
export interface OutgoingMail {
  /** The outbox id: the Message-ID is built from it, so a resend after a crash is recognisable downstream. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What the outbox worker sends through (SMTP in production; tests may put a fake in its place). */
export interface MailTransport {
  /** Resolves once the server accepted the message; rejects on any failure (the worker retries). */
  send(mail: OutgoingMail): Promise<void>;
  /** Closes pooled connections; a send still in flight fails. */
  close(): void;
}

/**
 * Bounds on a hung or slow SMTP server: no step of a send waits longer than this, so a worker is
 * never held forever (the outbox lease, 2 min by default, is well above their sum).
 */
export const SMTP_TIMEOUTS = {
  /** TCP (and TLS for smtps://) connection. */
  connectionTimeoutMs: 10_000,
  /** The server's 220 greeting after connecting. */
  greetingTimeoutMs: 10_000,
  /** Inactivity on an open connection (any command's answer, the DATA upload). */
  socketTimeoutMs: 30_000,
} as const;

/** Pooled connections per instance: enough to drain a burst, few enough not to look like a flood. */
const MAX_CONNECTIONS = 3;

type SmtpOptions = Parameters<typeof nodemailer.createTransport>[0] & Record<string, unknown>;

/**
 * nodemailer options from `config.mail`: `smtp://host[:port]` (port 587 by default; STARTTLS when
 * the server offers it) or `smtps://host[:port]` (TLS from the start, port 465 by default).
 * Credentials come from the URL (percent-encoded) or SMTP_USER/SMTP_PASSWORD; the URL wins.
 * Certificates are always verified (Node's defaults).
 */
export function smtpTransportOptions(mail: Config['mail']): SmtpOptions {
  if (!mail.smtpUrl) throw new Error('SMTP_URL is not set');
  const url = new URL(mail.smtpUrl);
  const secure = url.protocol === 'smtps:';
  const user = url.username ? decodeURIComponent(url.username) : mail.smtpUser;
  const pass = url.password ? decodeURIComponent(url.password) : mail.smtpPassword;
  return {
    pool: true,
    maxConnections: MAX_CONNECTIONS,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
    connectionTimeout: SMTP_TIMEOUTS.connectionTimeoutMs,
    greetingTimeout: SMTP_TIMEOUTS.greetingTimeoutMs,
    socketTimeout: SMTP_TIMEOUTS.socketTimeoutMs,
    // nodemailer logs through its own logger when asked to; Gatehouse logs the outcome per message.
    logger: false,
    debug: false,
  } as SmtpOptions;
}

/** The domain of MAIL_FROM (`Name <a@b>` or `a@b`), for Message-IDs. */
export function senderDomain(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return address.slice(address.lastIndexOf('@') + 1).trim() || 'localhost';
}

/**
 * A pooled SMTP transport sending as MAIL_FROM. nodemailer is loaded with the first send, not at
 * start-up (the options are checked here, at once).
 */
export function createSmtpTransport(mail: Config['mail']): MailTransport {
  const options = smtpTransportOptions(mail);
  const domain = senderDomain(mail.from);
  let transporter: ReturnType<typeof nodemailer.createTransport> | undefined;
  let closed = false;
  const open = async () => {
    const { default: loaded } = await import('nodemailer');
    if (closed) throw new Error('the SMTP transport is closed');
    transporter ??= loaded.createTransport(options as never);
    return transporter;
  };
  return {
    async send(m) {
      await (transporter ?? (await open())).sendMail({
        from: mail.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: `<${m.id}@${domain}>`,
      });
    },
    close() {
      closed = true;
      transporter?.close();
    },
  };
}
