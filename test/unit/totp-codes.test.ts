import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, generateSecret } from 'otplib';
import {
  formatSetupKey,
  normaliseTotpCode,
  otpauthUri,
  totpStepAt,
  verifyTotp,
} from '../../src/domain/authn/totp/totp-codes.js';

/** The codes an authenticator app shows, computed with otplib from outside our code. */
const secret = generateSecret();
const STEP = 60_000_000; // a time step in 2027
const startOf = (step: number) => step * 30_000;
const codeFor = (step: number) => generate({ secret, epoch: startOf(step) / 1000 });

describe('TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) with an injected clock', () => {
  for (const [name, now] of [
    ['the first millisecond of a step', startOf(STEP)],
    ['the last millisecond of a step', startOf(STEP + 1) - 1],
  ] as const) {
    it(`at ${name}: the steps before, now and after are accepted; two away are not`, async () => {
      assert.equal(totpStepAt(now), STEP);
      for (const offset of [-1, 0, 1])
        assert.equal(await verifyTotp(secret, await codeFor(STEP + offset), now), STEP + offset);
      for (const offset of [-2, 2])
        assert.equal(await verifyTotp(secret, await codeFor(STEP + offset), now), undefined);
    });
  }

  it('a code stops working exactly when its window ends, and starts exactly when it begins', async () => {
    const code = await codeFor(STEP);
    assert.equal(await verifyTotp(secret, code, startOf(STEP + 2) - 1), STEP, 'last millisecond of the step after');
    assert.equal(await verifyTotp(secret, code, startOf(STEP + 2)), undefined, 'first millisecond two steps later');
    assert.equal(await verifyTotp(secret, code, startOf(STEP - 1)), STEP, 'first millisecond of the step before');
    assert.equal(await verifyTotp(secret, code, startOf(STEP - 1) - 1), undefined, 'two steps early');
  });

  it('refuses what is not six digits, and another secret’s code', async () => {
    const now = startOf(STEP);
    const code = await codeFor(STEP);
    assert.equal(await verifyTotp(secret, code.slice(0, 5), now), undefined);
    assert.equal(await verifyTotp(secret, `${code}0`, now), undefined);
    assert.equal(await verifyTotp(secret, 'abcdef', now), undefined);
    assert.equal(await verifyTotp(generateSecret(), code, now), undefined);
  });

  it('reads codes typed with spaces; shows the setup key in groups of four', () => {
    assert.equal(normaliseTotpCode(' 123 456 '), '123456');
    assert.equal(formatSetupKey('ABCDEFGHIJKLMNOPQRST'), 'ABCD EFGH IJKL MNOP QRST');
    assert.equal(formatSetupKey(secret).replace(/ /g, ''), secret);
  });

  it('the otpauth URI names the issuer and account and carries the secret', () => {
    const uri = new URL(otpauthUri('login.example.com', 'ada@example.com', secret));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/login.example.com:ada@example.com');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'login.example.com');
  });
});
