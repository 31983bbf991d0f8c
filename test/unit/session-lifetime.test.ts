import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SESSION_ENDED,
  sessionEnded,
  sessionEndedCheck,
  sessionExpiresIn,
  sessionTtl,
  withSessionLifetime,
} from '../../src/oidc/session-lifetime.js';
import { interactionPolicyWithStepUp } from '../../src/oidc/acr-step-up.js';

const lifetime = { absoluteSeconds: 7 * 24 * 3600, idleSeconds: 24 * 3600 };
const signedIn = 1_000_000;

describe('session lifetime (pure rules)', () => {
  it('keeps a session for the idle time while far from the absolute end', () => {
    assert.equal(sessionExpiresIn(signedIn, signedIn + 60, lifetime), 24 * 3600);
  });

  it('cuts the idle time at the absolute end counted from sign-in', () => {
    const end = signedIn + lifetime.absoluteSeconds;
    assert.equal(sessionExpiresIn(signedIn, end - 3600, lifetime), 3600);
    // Never zero (oidc-provider refuses it): the ended-session check covers that last second.
    assert.equal(sessionExpiresIn(signedIn, end, lifetime), 1);
    assert.equal(sessionExpiresIn(signedIn, end + 500, lifetime), 1);
  });

  it('gives a session with no one signed in only the idle time', () => {
    assert.equal(sessionExpiresIn(undefined, signedIn, lifetime), lifetime.idleSeconds);
  });

  it('says when the absolute end is reached', () => {
    assert.equal(sessionEnded(signedIn, signedIn + lifetime.absoluteSeconds - 1, lifetime.absoluteSeconds), false);
    assert.equal(sessionEnded(signedIn, signedIn + lifetime.absoluteSeconds, lifetime.absoluteSeconds), true);
    assert.equal(sessionEnded(undefined, signedIn, lifetime.absoluteSeconds), false);
  });
});

describe('session_ended (the login prompt check)', () => {
  const now = Math.floor(Date.now() / 1000);
  const asks = (session: Record<string, unknown>) =>
    sessionEndedCheck(3600).check({ oidc: { session } } as never) as boolean;

  it('asks for a sign-in once a session (e.g. one stored with a longer expiry) is past its absolute end', () => {
    assert.equal(asks({ accountId: 'a', loginTs: now - 3601 }), true);
    assert.equal(asks({ accountId: 'a', loginTs: now - 60 }), false);
    assert.equal(asks({}), false, 'no session: no_session asks');
  });

  it('is on the login prompt, answering login_required to prompt=none', () => {
    const policy = withSessionLifetime(interactionPolicyWithStepUp({ mfaRequired: false }), 3600);
    const check = policy.find((p) => p.name === 'login')!.checks.get(SESSION_ENDED);
    assert.equal(check?.error, 'login_required');
  });
});

describe('ttl.Session and "Stay signed in"', () => {
  it('clears a transient mark when a new sign-in asked to stay signed in, keeps it otherwise', () => {
    const ttl = sessionTtl({ absoluteSeconds: 3600, idleSeconds: 600 });
    const now = Math.floor(Date.now() / 1000);
    const session = { loginTs: now, transient: true as boolean | undefined };
    assert.equal(ttl({ oidc: { result: undefined } } as never, session), 600);
    assert.equal(session.transient, true, 'an ordinary request changes nothing');
    ttl({ oidc: { result: { login: { accountId: 'a' } } } } as never, session);
    assert.equal(session.transient, true, 'a step-up (no choice) keeps the earlier choice');
    ttl({ oidc: { result: { login: { accountId: 'a', remember: true } } } } as never, session);
    assert.equal(session.transient, undefined);
  });
});
