import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACR } from '../../src/domain/authn/authentication-policy.js';
import { requestedAcr } from '../../src/domain/authn/requested-acr.js';

const claims = (acr: unknown) => JSON.stringify({ id_token: { acr } });

describe('requested acr (acr_values and an essential acr claim)', () => {
  it('is empty when the request asks for nothing', () => {
    assert.deepEqual(requestedAcr({}), []);
    assert.deepEqual(requestedAcr({ acr_values: '' }), []);
  });

  it('splits acr_values on spaces, in order, skipping empty parts', () => {
    assert.deepEqual(requestedAcr({ acr_values: `${ACR.mfa}  ${ACR.password} ` }), [ACR.mfa, ACR.password]);
  });

  it('reads an essential acr claim with one value or a list of values', () => {
    assert.deepEqual(requestedAcr({ claims: claims({ essential: true, value: ACR.mfa }) }), [ACR.mfa]);
    assert.deepEqual(requestedAcr({ claims: claims({ essential: true, values: [ACR.mfa, ACR.phishingResistant] }) }), [
      ACR.mfa,
      ACR.phishingResistant,
    ]);
  });

  it('adds the essential claim to acr_values', () => {
    assert.deepEqual(
      requestedAcr({ acr_values: ACR.password, claims: claims({ essential: true, value: ACR.phishingResistant }) }),
      [ACR.password, ACR.phishingResistant],
    );
  });

  it('ignores a voluntary acr claim (essential missing, false or not the boolean true)', () => {
    for (const acr of [{ value: ACR.mfa }, { essential: false, value: ACR.mfa }, { essential: 'true', value: ACR.mfa }])
      assert.deepEqual(requestedAcr({ claims: claims(acr) }), [], JSON.stringify(acr));
  });

  it('ignores values that are not strings, and malformed claims, without throwing', () => {
    assert.deepEqual(requestedAcr({ claims: claims({ essential: true, value: 2, values: [ACR.mfa, 3, null] }) }), [
      ACR.mfa,
    ]);
    for (const bad of ['not json', 'null', '"text"', '[]', '{"id_token":null}', '{"id_token":{"acr":null}}'])
      assert.deepEqual(requestedAcr({ claims: bad }), [], bad);
  });

  it('ignores parameters of the wrong type', () => {
    assert.deepEqual(requestedAcr({ acr_values: [ACR.mfa], claims: { id_token: { acr: { essential: true } } } }), []);
  });
});
