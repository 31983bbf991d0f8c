import { SMTPServer } from 'smtp-server';
import { freePort } from './gatehouse.js';

/** One message as the SMTP sink received it, headers and bodies decoded. */
export interface SinkMessage {
  /** MAIL FROM / RCPT TO of the SMTP session, and the user it authenticated as (if any). */
  envelope: { from: string; to: string[]; user?: string };
  /** Header values, unfolded and decoded (`from`, `to`, `subject`, `message-id`, …; lower-case names). */
  headers: Record<string, string>;
  from: string;
  to: string;
  subject: string;
  messageId: string;
  text: string;
  html: string;
  raw: string;
}

export interface SmtpSinkOptions {
  /** Require AUTH PLAIN/LOGIN with one of these credentials (over plain TCP: a test sink only). */
  auth?: { user: string; pass: string } | { user: string; pass: string }[];
}

/**
 * An in-process SMTP server on 127.0.0.1 that keeps what it receives. `stop()` closes it (new
 * connections are refused, open ones cut) and `start()` listens again on the same port: an outage.
 * No STARTTLS: the sink has no certificate the client would trust.
 */
export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  #server: SMTPServer | undefined;

  private constructor(
    readonly port: number,
    private readonly options: SmtpSinkOptions,
  ) {}

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(await freePort(), options);
    await sink.start();
    return sink;
  }

  /** `smtp://127.0.0.1:<port>` (no credentials in it). */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const auth = this.options.auth;
    const server = new SMTPServer({
      disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      // An outage is abrupt: open connections are cut at once, not drained.
      closeTimeout: 50,
      logger: false,
      onAuth(a, _session, callback) {
        const accounts = auth ? [auth].flat() : [];
        if (accounts.some((c) => a.username === c.user && a.password === c.pass)) callback(null, { user: a.username });
        else callback(new Error('invalid credentials'));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.messages.push(
            parseMessage(raw, {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              ...(session.user ? { user: String(session.user) } : {}),
            }),
          );
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    server.on('error', () => undefined);
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages to `to` (case-insensitive). */
  to(address: string): SinkMessage[] {
    return this.messages.filter((m) => m.envelope.to.some((t) => t.toLowerCase() === address.toLowerCase()));
  }

  /** Waits until `count` messages match (all messages without a filter). */
  async waitFor(count: number, filter: (m: SinkMessage) => boolean = () => true, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.filter(filter);
      if (found.length >= count) return found;
      if (Date.now() > deadline)
        throw new Error(`smtp sink: ${found.length} of ${count} messages after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A small MIME reader: enough for what nodemailer writes (multipart/alternative, QP or base64). */
export function parseMessage(raw: string, envelope: SinkMessage['envelope']): SinkMessage {
  const { headers, body } = splitHeaders(raw);
  const { text, html } = bodies(headers, body);
  return {
    envelope,
    headers,
    from: headers.from ?? '',
    to: headers.to ?? '',
    subject: headers.subject ?? '',
    messageId: headers['message-id'] ?? '',
    text,
    html,
    raw,
  };
}

function splitHeaders(part: string): { headers: Record<string, string>; body: string } {
  const at = part.search(/\r?\n\r?\n/);
  const head = at < 0 ? part : part.slice(0, at);
  const body = at < 0 ? '' : part.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function bodies(headers: Record<string, string>, body: string): { text: string; html: string } {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const result = { text: '', html: '' };
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const part = splitHeaders(chunk.replace(/^\r?\n/, ''));
      const inner = bodies(part.headers, part.body);
      result.text ||= inner.text;
      result.html ||= inner.html;
    }
    return result;
  }
  const decoded = decodeBody(body.replace(/\r?\n$/, ''), headers['content-transfer-encoding'] ?? '7bit');
  return /^text\/html/i.test(type) ? { text: '', html: decoded } : { text: decoded, html: '' };
}

function decodeBody(body: string, encoding: string): string {
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding)) return decodeQp(body.replace(/=\r?\n/g, ''));
  return body.replace(/\r\n/g, '\n');
}

function decodeQp(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(s.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`); whitespace between two of them goes. */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QB]\?[^?]*\?=)\s+(?==\?)/gi, '$1')
    .replace(/=\?[^?]+\?([QB])\?([^?]*)\?=/gi, (_, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQp(data.replace(/_/g, ' ')),
    );
}
