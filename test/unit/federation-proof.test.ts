import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { achievedAssurance } from '../../src/domain/authn/authentication-policy.js';
import { applyProof, EMPTY_SIGN_IN, stateFromSession } from '../../src/domain/authn/sign-in-state.js';
import { federationProof } from '../../src/domain/federation/federated-sign-in.js';

describe('federated sign-in proof', () => {
  const level = (trusted: boolean, upstream: { amr?: string[]; acr?: string }) =>
    achievedAssurance(applyProof(EMPTY_SIGN_IN, 'oidc:up', 'a', federationProof('c', trusted, upstream)));

  it('is amr fed, one factor, whatever the upstream says, unless the connection trusts its MFA', () => {
    const proof = federationProof('c', false, { amr: ['pwd', 'mfa'], acr: 'x' });
    assert.deepEqual(proof.amr, ['fed']);
    assert.deepEqual(proof.upstream, { connectionId: 'c', amr: ['pwd', 'mfa'], acr: 'x' });
    assert.equal(level(false, { amr: ['mfa'] }), 0);
  });

  it('counts two factors with trusted_mfa when the upstream asserts MFA by amr or acr', () => {
    assert.equal(level(true, { amr: ['pwd', 'otp'] }), 1);
    assert.equal(level(true, { amr: ['hwk'] }), 1);
    assert.equal(level(true, { acr: 'http://schemas.openid.net/pape/policies/2007/06/multi-factor' }), 1);
    assert.equal(level(true, { amr: ['pwd'] }), 0);
    assert.equal(level(true, {}), 0);
  });

  it('a session signed in with fed counts one factor for a later step-up', () => {
    assert.deepEqual(stateFromSession('a', ['fed']).factors, ['knowledge']);
  });
});
