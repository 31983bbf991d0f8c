import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What a process that logs one line (and warns once through the console) writes to stdout. */
function logOnce(format: string): string {
  const script = `import { createLogger } from './src/observability/logger.ts';
import { routeConsoleToLogger } from './src/observability/console-bridge.ts';
const logger = createLogger('info', ${JSON.stringify(format)});
routeConsoleToLogger(logger);
logger.info({ clientId: 'c1' }, 'hello operator');
console.warn('oidc-provider WARNING: %s', 'something odd');`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

describe('log format', () => {
  it('json: one record per line with an ISO-8601 time, console warnings included', () => {
    const lines = logOnce('json')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(lines[0].msg, 'hello operator');
    assert.deepEqual(
      [lines[1].level, lines[1].source, lines[1].msg],
      [40, 'console', 'oidc-provider WARNING: something odd'],
    );
  });

  it('pretty: readable lines through pino-pretty', () => {
    // Colour codes (ESC [ … m) stripped.
    const out = logOnce('pretty').replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    assert.match(out, /INFO.*hello operator/);
    assert.match(out, /WARN.*oidc-provider WARNING: something odd/);
    assert.match(out, /clientId: "c1"/);
    assert.throws(() => JSON.parse(out.split('\n')[0]!));
  });
});
