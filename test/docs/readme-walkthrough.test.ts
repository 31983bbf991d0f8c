import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BROWSER = path.join(ROOT, 'test/support/readme-browser.ts');
const TSX = import.meta.resolve('tsx');

/**
 * The README's "Try it with curl" section, run as a new user would: every ```sh block in order,
 * in one bash with `set -e`, from a directory holding keys/admin-key. Only three things change:
 * the ports (the suite runs on free ones), and the browser step — the person opening the URL and
 * pasting the code — is done by test/support/readme-browser.ts.
 */
function walkthroughScript(port: number, adminPort: number): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Try it with curl'), readme.indexOf('## Endpoints'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 4, 'the walkthrough has its shell blocks');
  let script = blocks.join('\n');
  assert.match(script, /^echo "(http:\/\/localhost:3000\/authorize\?.*)"$/m, 'the authorization URL is printed');
  assert.match(script, /^CODE=paste-the-code-here$/m, 'the reader pastes the code');
  script = script
    .replace(/^echo "(http:\/\/localhost:3000\/authorize\?.*)"$/m, 'AUTH_URL="$1"; echo "$AUTH_URL"')
    .replace(/^CODE=paste-the-code-here$/m, `CODE=$(node --import ${TSX} ${BROWSER} "$AUTH_URL")`)
    .replaceAll('localhost:3000', `localhost:${port}`)
    .replaceAll('localhost:3001', `127.0.0.1:${adminPort}`);
  return `set -euo pipefail\n${script}\necho "CLIENT_ID=$CLIENT_ID SVC_ID=$SVC_ID"\n`;
}

describe('README walkthrough', () => {
  let gh: RunningGatehouse;
  let cwd: string;
  before(async () => {
    gh = await startGatehouse('pglite');
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-readme-'));
    fs.mkdirSync(path.join(cwd, 'keys'));
    fs.writeFileSync(path.join(cwd, 'keys/admin-key'), `${gh.adminKey}\n`);
  });
  after(async () => {
    await gh?.destroy();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('runs as written: user, app, code + PKCE, /userinfo, refresh, API and client credentials', async () => {
    const adminPort = Number(new URL(gh.adminUrl).port);
    // Asynchronously: the server answering the script runs in this process.
    const { stdout: out } = await promisify(execFile)('bash', ['-c', walkthroughScript(gh.port, adminPort)], {
      cwd,
      encoding: 'utf8',
    });
    // /userinfo answered with the user who signed in.
    assert.match(out, /"email": "ada@example.com"[\s\S]*"email_verified": true/);
    assert.match(out, /"refresh_token": "[^"]+"/);
    // The client credentials token is a JWT for the API.
    const jwt = /"access_token": "(eyJ[^"]+)"[\s\S]*"scope": "orders:read"/.exec(out)?.[1];
    assert.ok(jwt, out.slice(-1500));
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    assert.equal(payload.aud, 'https://api.example.com');
    assert.match(out, /CLIENT_ID=\S+ SVC_ID=\S+/);
    assert.doesNotMatch(out, /CLIENT_ID=null|SVC_ID=null/);
  });
});
