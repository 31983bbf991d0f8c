import { format } from 'node:util';
import type { Logger } from 'pino';

/** Terminal colour codes that libraries wrap their console output in (oidc-provider on a TTY). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the ESC character is the point
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Sends what libraries print on the console (oidc-provider's "oidc-provider WARNING: Unsupported
 * runtime …" via console.warn, its notices via console.info) and process warnings
 * (`process.emitWarning`, deprecations) through the logger, so every line a Gatehouse process
 * writes is one JSON record. Install before importing oidc-provider: it warns at import time.
 */
export function routeConsoleToLogger(logger: Logger): void {
  const line = (args: unknown[]) => format(...args).replace(ANSI, '');
  console.warn = (...args: unknown[]) => logger.warn({ source: 'console' }, line(args));
  console.error = (...args: unknown[]) => logger.error({ source: 'console' }, line(args));
  console.info = (...args: unknown[]) => logger.info({ source: 'console' }, line(args));
  console.log = (...args: unknown[]) => logger.info({ source: 'console' }, line(args));
  console.debug = (...args: unknown[]) => logger.debug({ source: 'console' }, line(args));
  // Node's own listener prints warnings as plain text on stderr; ours logs them instead.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    logger.warn({ source: 'process', warning: { name: w.name, code: w.code } }, w.message);
  });
}
