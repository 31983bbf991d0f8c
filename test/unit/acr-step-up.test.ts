import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'oidc-provider';
import { ACR } from '../../src/domain/authn/authentication-policy.js';
import { ACR_STEP_UP, acrStepUpCheck, interactionPolicyWithStepUp } from '../../src/oidc/acr-step-up.js';

interface Request {
  session?: { accountId?: string; acr?: string };
  client?: Record<string, unknown>;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  mfaRequired?: boolean;
}

/** The check's answer for a request: true asks for the login prompt again. */
function asks(r: Request): Promise<boolean> | boolean {
  const ctx = { oidc: { session: r.session ?? {}, client: r.client ?? {}, params: r.params ?? {}, result: r.result } };
  return acrStepUpCheck({ mfaRequired: r.mfaRequired ?? false }).check(ctx as never);
}

const passwordSession = { accountId: 'acct-1', acr: ACR.password };
const mfaSession = { accountId: 'acct-1', acr: ACR.mfa };

describe('acr_step_up (the login prompt check)', () => {
  it('leaves a request without a session to no_session', async () => {
    assert.equal(await asks({ params: { acr_values: ACR.phishingResistant } }), false);
  });

  it('asks again when the request wants more than the session reached, by level', async () => {
    assert.equal(await asks({ session: passwordSession, params: { acr_values: ACR.mfa } }), true);
    assert.equal(await asks({ session: mfaSession, params: { acr_values: ACR.phishingResistant } }), true);
    assert.equal(await asks({ session: mfaSession, params: { acr_values: ACR.mfa } }), false);
    assert.equal(await asks({ session: mfaSession, params: { acr_values: ACR.password } }), false);
    assert.equal(await asks({ session: passwordSession, params: {} }), false);
  });

  it('reads an essential acr claim as acr_values: the weakest known value counts, unknown ones not', async () => {
    const essential = (value: string) => JSON.stringify({ id_token: { acr: { essential: true, value } } });
    assert.equal(await asks({ session: passwordSession, params: { claims: essential(ACR.mfa) } }), true);
    assert.equal(await asks({ session: mfaSession, params: { claims: essential(ACR.password) } }), false);
    assert.equal(await asks({ session: passwordSession, params: { acr_values: `${ACR.mfa} ${ACR.password}` } }), false);
    assert.equal(await asks({ session: passwordSession, params: { acr_values: 'urn:example:loa:3' } }), false);
  });

  it('applies the client’s require_mfa / require_phishing_resistant (booleans only) and MFA_REQUIRED', async () => {
    assert.equal(await asks({ session: passwordSession, client: { require_mfa: true } }), true);
    assert.equal(await asks({ session: passwordSession, client: { require_mfa: 'true' } }), false);
    assert.equal(await asks({ session: mfaSession, client: { require_mfa: true } }), false);
    assert.equal(await asks({ session: mfaSession, client: { require_phishing_resistant: true } }), true);
    assert.equal(await asks({ session: passwordSession, mfaRequired: true }), true);
    assert.equal(await asks({ session: mfaSession, mfaRequired: true }), false);
  });

  it('counts a session without an acr, or with one we do not issue, as one factor', async () => {
    assert.equal(await asks({ session: { accountId: 'acct-1' }, params: { acr_values: ACR.mfa } }), true);
    assert.equal(await asks({ session: { accountId: 'acct-1', acr: 'urn:old' }, client: { require_mfa: true } }), true);
    assert.equal(await asks({ session: { accountId: 'acct-1', acr: 'urn:old' } }), false);
  });

  it('fails with access_denied instead of asking again right after a sign-in that fell short', async () => {
    await assert.rejects(
      async () => asks({ session: passwordSession, params: { acr_values: ACR.mfa }, result: { login: {} } }),
      (err: unknown) => err instanceof errors.AccessDenied,
    );
    // A sign-in that reached the level passes.
    assert.equal(await asks({ session: mfaSession, params: { acr_values: ACR.mfa }, result: { login: {} } }), false);
  });

  it('sits on the login prompt, answering login_required to prompt=none; the equality checks are gone', () => {
    const login = interactionPolicyWithStepUp({ mfaRequired: false }).find((p) => p.name === 'login')!;
    const reasons = login.checks.map((c) => c.reason);
    assert.ok(reasons.includes(ACR_STEP_UP));
    assert.ok(!reasons.includes('essential_acr') && !reasons.includes('essential_acrs'));
    assert.ok(reasons.includes('no_session') && reasons.includes('max_age'));
    assert.equal(login.checks.find((c) => c.reason === ACR_STEP_UP)!.error, 'login_required');
  });
});
