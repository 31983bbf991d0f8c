import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets never reach a log line: the redaction list is the safety net. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'gatehouse' },
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
        'password', '*.password', 'client_secret', '*.client_secret', 'token', '*.token',
      ],
      censor: '[redacted]',
    },
  });
}
