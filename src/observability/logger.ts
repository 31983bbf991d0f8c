import { pino, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * Structured JSON logs with ISO-8601 timestamps (`"time":"2026-12-05T12:00:00.000Z"`: readable
 * by people and log shippers alike). `pretty` renders the same records for a terminal through
 * pino-pretty, in a worker thread. Secrets never reach a log line: the redaction list is the
 * safety net.
 */
export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  return pino({
    level,
    base: { service: 'gatehouse' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        'password',
        '*.password',
        'client_secret',
        '*.client_secret',
        'token',
        '*.token',
      ],
      censor: '[redacted]',
    },
    ...(format === 'pretty'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:standard', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
  });
}
