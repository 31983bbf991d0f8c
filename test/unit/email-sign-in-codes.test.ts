import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { achievedAssurance } from '../../src/domain/authn/authentication-policy.js';
import { EMAIL_PROOF } from '../../src/domain/authn/email-sign-in/email-code-strategy.js';
import { newSignInCode, SignInCodeHasher } from '../../src/domain/authn/email-sign-in/sign-in-codes.js';
import { applyProof, EMPTY_SIGN_IN, stateFromSession } from '../../src/domain/authn/sign-in-state.js';

describe('email sign-in codes', () => {
  it('are 6 digits, leading zeros kept, spread over every digit', () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const code = newSignInCode();
      assert.match(code, /^\d{6}$/);
      seen.set(code[0]!, (seen.get(code[0]!) ?? 0) + 1);
    }
    assert.equal(seen.size, 10);
    for (const [, n] of seen) assert.ok(n > 1700 && n < 2300, `first digit count ${n} (expected ~2000)`);
  });

  it('match only in their interaction, for their address, ignoring spaces and case of the address', () => {
    const hasher = new SignInCodeHasher(Buffer.alloc(32, 7));
    const stored = hasher.hash('uid-1', 'Ann@Example.test', '012345');
    assert.ok(hasher.matches(stored, 'uid-1', 'ann@example.test', '012 345'));
    assert.ok(!hasher.matches(stored, 'uid-2', 'ann@example.test', '012345'), 'another interaction');
    assert.ok(!hasher.matches(stored, 'uid-1', 'bob@example.test', '012345'), 'another address');
    assert.ok(!hasher.matches(stored, 'uid-1', 'ann@example.test', '012346'));
    assert.ok(!hasher.matches(undefined, 'uid-1', 'ann@example.test', '012345'), 'nothing stored (unknown address)');
    assert.ok(!new SignInCodeHasher(Buffer.alloc(32, 8)).matches(stored, 'uid-1', 'ann@example.test', '012345'));
  });

  it('count as one factor; an authenticator app after them makes two kinds', () => {
    const emailOnly = applyProof(EMPTY_SIGN_IN, 'email_code', 'acc', EMAIL_PROOF);
    assert.equal(achievedAssurance(emailOnly), 0);
    assert.deepEqual(emailOnly.amr, ['email']);
    const withApp = applyProof(emailOnly, 'totp', 'acc', {
      amr: ['otp'],
      factors: ['possession'],
      phishingResistant: false,
    });
    assert.equal(achievedAssurance(withApp), 1);
    assert.deepEqual(stateFromSession('acc', ['email']).factors, ['knowledge'], 'a step-up starts from it');
  });
});
