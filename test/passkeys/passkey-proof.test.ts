import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { achievedAssurance } from '../../src/domain/authn/authentication-policy.js';
import { defaultPasskeyName } from '../../src/domain/authn/passkeys/passkey-enrolment.js';
import { passkeyProof } from '../../src/domain/authn/passkeys/passkey-proof.js';
import { applyProof, EMPTY_SIGN_IN } from '../../src/domain/authn/sign-in-state.js';

describe('what a passkey proves', () => {
  it('device-bound with user verification: hwk + user, two factors, phishing-resistant', () => {
    assert.deepEqual(passkeyProof({ backedUp: false, userVerified: true }), {
      amr: ['hwk', 'user'],
      factors: ['possession', 'inherence'],
      phishingResistant: true,
    });
  });

  it('synced (backed up): swk instead of hwk', () => {
    assert.deepEqual(passkeyProof({ backedUp: true, userVerified: true }).amr, ['swk', 'user']);
  });

  it('without user verification: possession only, not phishing-resistant on its own terms', () => {
    const proof = passkeyProof({ backedUp: false, userVerified: false });
    assert.deepEqual(proof, { amr: ['hwk'], factors: ['possession'], phishingResistant: false });
    assert.equal(achievedAssurance(applyProof(EMPTY_SIGN_IN, 'passkey', 'u1', proof)), 0, 'one factor alone');
    const afterPassword = applyProof(
      { ...EMPTY_SIGN_IN, accountId: 'u1', methods: ['password'], amr: ['pwd'], factors: ['knowledge'] },
      'passkey',
      'u1',
      proof,
    );
    assert.equal(achievedAssurance(afterPassword), 1, 'with the password: two factors');
  });

  it('passwordless with user verification reaches the highest assurance alone', () => {
    const state = applyProof(EMPTY_SIGN_IN, 'passkey', 'u1', passkeyProof({ backedUp: false, userVerified: true }));
    assert.equal(achievedAssurance(state), 2);
  });

  it('a passkey without a name is named after the day it was added', () => {
    assert.equal(defaultPasskeyName(new Date('2026-12-05T23:30:00Z')), 'Passkey (5 Dec 2026)');
  });
});
