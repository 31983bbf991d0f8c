import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACR,
  ACR_VALUES,
  type EnrolledFactors,
  nextStep,
  type Requirement,
  type RequirementInput,
  requiredAssurance,
} from '../../src/domain/authn/authentication-policy.js';
import {
  applyProof,
  EMPTY_SIGN_IN,
  type Proof,
  type SignInState,
  stateFromSession,
} from '../../src/domain/authn/sign-in-state.js';

const NOTHING: RequirementInput = {
  accountHasSecondFactor: false,
  client: {},
  deploymentRequiresMfa: false,
  requestedAcr: [],
};
const need = (patch: Partial<RequirementInput>) => requiredAssurance({ ...NOTHING, ...patch });

const PASSWORD: Proof = { amr: ['pwd'], factors: ['knowledge'], phishingResistant: false };
const TOTP: Proof = { amr: ['otp'], factors: ['possession'], phishingResistant: false };
const RECOVERY_CODE: Proof = { amr: ['otp'], factors: ['possession'], phishingResistant: false };
const PASSKEY_UV: Proof = { amr: ['hwk', 'user'], factors: ['possession', 'inherence'], phishingResistant: true };
const PASSKEY_NO_UV: Proof = { amr: ['swk'], factors: ['possession'], phishingResistant: false };

const NONE: EnrolledFactors = { totp: false, passkey: false, recoveryCodes: false };
const ALL: EnrolledFactors = { totp: true, passkey: true, recoveryCodes: true };

const ONE_FACTOR: Requirement = { level: 0, because: [] };
const MFA: Requirement = { level: 1, because: ['request'] };
const PHISHING_RESISTANT: Requirement = { level: 2, because: ['client'] };

const afterPassword = () => applyProof(EMPTY_SIGN_IN, 'password', 'acct-1', PASSWORD);

describe('authentication policy: requiredAssurance', () => {
  it('asks for one factor when nothing requires more', () => {
    assert.deepEqual(need({}), { level: 0, because: [] });
  });

  it('asks for a second factor when the account has one, the client or the deployment requires it', () => {
    assert.deepEqual(need({ accountHasSecondFactor: true }), { level: 1, because: ['account'] });
    assert.deepEqual(need({ client: { requireMfa: true } }), { level: 1, because: ['client'] });
    assert.deepEqual(need({ deploymentRequiresMfa: true }), { level: 1, because: ['deployment'] });
    assert.deepEqual(need({ client: { requireMfa: false, requirePhishingResistant: false } }), ONE_FACTOR);
  });

  it('asks for a phishing-resistant authenticator when the client requires one, whatever else asks for less', () => {
    assert.deepEqual(need({ client: { requirePhishingResistant: true } }), { level: 2, because: ['client'] });
    assert.deepEqual(
      need({ accountHasSecondFactor: true, client: { requireMfa: true, requirePhishingResistant: true } }),
      { level: 2, because: ['account', 'client'] },
    );
  });

  it('takes the level of a requested acr value', () => {
    assert.deepEqual(need({ requestedAcr: [ACR.password] }), ONE_FACTOR);
    assert.deepEqual(need({ requestedAcr: [ACR.mfa] }), { level: 1, because: ['request'] });
    assert.deepEqual(need({ requestedAcr: [ACR.phishingResistant] }), { level: 2, because: ['request'] });
  });

  it('needs only the weakest known value of several: any one of them satisfies the request (RFC 9470)', () => {
    assert.equal(need({ requestedAcr: [ACR.phishingResistant, ACR.mfa] }).level, 1);
    assert.equal(need({ requestedAcr: [ACR.mfa, ACR.password, ACR.phishingResistant] }).level, 0);
  });

  it('ignores values it does not issue (acr_values is a voluntary request)', () => {
    assert.deepEqual(need({ requestedAcr: ['urn:example:loa:4', 'phr', ''] }), ONE_FACTOR);
    assert.equal(need({ requestedAcr: ['urn:example:loa:4', ACR.phishingResistant] }).level, 2);
    // An unknown value does not count as "weaker" than a known one.
    assert.equal(need({ requestedAcr: ['urn:example:loa:1', ACR.mfa] }).level, 1);
  });

  it('never lowers what the account, client or deployment requires because of a weaker request', () => {
    assert.deepEqual(need({ accountHasSecondFactor: true, requestedAcr: [ACR.password] }), {
      level: 1,
      because: ['account'],
    });
    assert.equal(need({ client: { requirePhishingResistant: true }, requestedAcr: [ACR.mfa] }).level, 2);
  });

  it('names every source that asks for a second factor', () => {
    assert.deepEqual(
      need({
        accountHasSecondFactor: true,
        client: { requireMfa: true },
        deploymentRequiresMfa: true,
        requestedAcr: [ACR.mfa],
      }),
      { level: 1, because: ['account', 'client', 'deployment', 'request'] },
    );
  });

  it('lists the acr values weakest first', () => {
    assert.deepEqual(ACR_VALUES, [
      'urn:gatehouse:acr:password',
      'urn:gatehouse:acr:mfa',
      'urn:gatehouse:acr:phishing-resistant',
    ]);
  });
});

describe('authentication policy: nextStep', () => {
  it('asks for the first factor until an account is known', () => {
    assert.deepEqual(nextStep(EMPTY_SIGN_IN, ONE_FACTOR, ALL), { next: 'first_factor' });
    assert.deepEqual(nextStep(EMPTY_SIGN_IN, PHISHING_RESISTANT, NONE), { next: 'first_factor' });
  });

  it('finishes after a password when one factor is enough: acr password, amr pwd (no mfa)', () => {
    assert.deepEqual(nextStep(afterPassword(), ONE_FACTOR, NONE), {
      next: 'done',
      accountId: 'acct-1',
      acr: ACR.password,
      amr: ['pwd'],
    });
  });

  it('offers the enrolled second factors not used yet, recovery codes last', () => {
    assert.deepEqual(nextStep(afterPassword(), MFA, ALL), {
      next: 'second_factor',
      methods: ['totp', 'passkey', 'recovery_code'],
      requirement: MFA,
    });
    assert.deepEqual(nextStep(afterPassword(), MFA, { totp: true, passkey: false, recoveryCodes: false }), {
      next: 'second_factor',
      methods: ['totp'],
      requirement: MFA,
    });
    assert.deepEqual(nextStep(afterPassword(), MFA, { totp: false, passkey: true, recoveryCodes: true }), {
      next: 'second_factor',
      methods: ['passkey', 'recovery_code'],
      requirement: MFA,
    });
  });

  it('does not offer recovery codes on their own: they stand in for a factor that is gone', () => {
    assert.deepEqual(nextStep(afterPassword(), MFA, { totp: false, passkey: false, recoveryCodes: true }), {
      next: 'enrol',
      methods: ['totp', 'passkey'],
      requirement: MFA,
    });
  });

  it('asks to set up a second factor when none is enrolled', () => {
    assert.deepEqual(nextStep(afterPassword(), MFA, NONE), {
      next: 'enrol',
      methods: ['totp', 'passkey'],
      requirement: MFA,
    });
  });

  it('finishes after password and a code: acr mfa, amr pwd, otp and mfa', () => {
    const state = applyProof(afterPassword(), 'totp', 'acct-1', TOTP);
    assert.deepEqual(nextStep(state, MFA, ALL), {
      next: 'done',
      accountId: 'acct-1',
      acr: ACR.mfa,
      amr: ['pwd', 'otp', 'mfa'],
    });
  });

  it('reports the assurance reached, even above the requirement', () => {
    const state = applyProof(afterPassword(), 'totp', 'acct-1', TOTP);
    const done = nextStep(state, ONE_FACTOR, ALL);
    assert.equal(done.next === 'done' && done.acr, ACR.mfa);
    assert.deepEqual(done.next === 'done' && done.amr, ['pwd', 'otp', 'mfa']);
  });

  it('counts two factors of one kind as one: a recovery code after a code does not finish a sign-in by itself', () => {
    const state = applyProof(
      applyProof({ ...EMPTY_SIGN_IN, accountId: 'acct-1' }, 'totp', 'acct-1', TOTP),
      'recovery_code',
      'acct-1',
      RECOVERY_CODE,
    );
    assert.deepEqual(state.factors, ['possession']);
    assert.equal(nextStep(state, MFA, ALL).next, 'second_factor');
    assert.deepEqual(nextStep(state, MFA, ALL), { next: 'second_factor', methods: ['passkey'], requirement: MFA });
  });

  it('takes a passkey with user verification alone as phishing-resistant: acr phishing-resistant, amr with mfa', () => {
    const state = applyProof(EMPTY_SIGN_IN, 'passkey', 'acct-1', PASSKEY_UV);
    assert.deepEqual(nextStep(state, PHISHING_RESISTANT, ALL), {
      next: 'done',
      accountId: 'acct-1',
      acr: ACR.phishingResistant,
      amr: ['hwk', 'user', 'mfa'],
    });
  });

  it('asks for a passkey when a phishing-resistant sign-in is required, whatever else is enrolled', () => {
    assert.deepEqual(nextStep(afterPassword(), PHISHING_RESISTANT, ALL), {
      next: 'second_factor',
      methods: ['passkey'],
      requirement: PHISHING_RESISTANT,
    });
    const withCode = applyProof(afterPassword(), 'totp', 'acct-1', TOTP);
    assert.equal(nextStep(withCode, PHISHING_RESISTANT, ALL).next, 'second_factor');
  });

  it('asks to add a passkey when a phishing-resistant sign-in is required and the account has none', () => {
    assert.deepEqual(
      nextStep(afterPassword(), PHISHING_RESISTANT, { totp: true, passkey: false, recoveryCodes: true }),
      {
        next: 'enrol',
        methods: ['passkey'],
        requirement: PHISHING_RESISTANT,
      },
    );
  });

  it('does not take a passkey without user verification as phishing-resistant, only as a second factor', () => {
    const state = applyProof(afterPassword(), 'passkey', 'acct-1', PASSKEY_NO_UV);
    const step = nextStep(state, MFA, ALL);
    assert.deepEqual(step, { next: 'done', accountId: 'acct-1', acr: ACR.mfa, amr: ['pwd', 'swk', 'mfa'] });
    assert.notEqual(nextStep(state, PHISHING_RESISTANT, ALL).next, 'done');
  });
});

describe('sign-in state', () => {
  it('adds each proof: methods in order, amr and factors without repeats', () => {
    const state = applyProof(applyProof(EMPTY_SIGN_IN, 'password', 'acct-1', PASSWORD), 'totp', 'acct-1', TOTP);
    assert.deepEqual(state, {
      accountId: 'acct-1',
      methods: ['password', 'totp'],
      amr: ['pwd', 'otp'],
      factors: ['knowledge', 'possession'],
      phishingResistant: false,
    });
    const again = applyProof(state, 'recovery_code', 'acct-1', RECOVERY_CODE);
    assert.deepEqual(again.amr, ['pwd', 'otp']);
    assert.deepEqual(again.methods, ['password', 'totp', 'recovery_code']);
  });

  it('never switches the account: a later step for someone else is refused', () => {
    const state = afterPassword();
    assert.throws(
      () => applyProof(state, 'totp', 'acct-2', TOTP),
      (err: Error & { code?: string }) => err.code === 'invalid_request',
    );
    assert.equal(state.accountId, 'acct-1');
  });

  it('keeps phishing resistance once proved', () => {
    const state = applyProof(applyProof(EMPTY_SIGN_IN, 'passkey', 'acct-1', PASSKEY_UV), 'totp', 'acct-1', TOTP);
    assert.equal(state.phishingResistant, true);
  });

  it('does not change the state it was given', () => {
    const before = structuredClone(afterPassword());
    const state: SignInState = afterPassword();
    applyProof(state, 'totp', 'acct-1', TOTP);
    assert.deepEqual(state, before);
  });

  it('a password session: a knowledge factor, ready for a second one', () => {
    const state = stateFromSession('acct-1', ['pwd']);
    assert.deepEqual(state, {
      accountId: 'acct-1',
      methods: [],
      amr: ['pwd'],
      factors: ['knowledge'],
      phishingResistant: false,
    });
    assert.deepEqual(nextStep(state, MFA, { totp: true, passkey: false, recoveryCodes: true }), {
      next: 'second_factor',
      methods: ['totp', 'recovery_code'],
      requirement: MFA,
    });
    const stepped = applyProof(state, 'totp', 'acct-1', TOTP);
    assert.deepEqual(nextStep(stepped, MFA, ALL), {
      next: 'done',
      accountId: 'acct-1',
      acr: ACR.mfa,
      amr: ['pwd', 'otp', 'mfa'],
    });
  });

  it('an MFA session reaches MFA again without a new step; `mfa` is the policy’s to add, not carried over', () => {
    const state = stateFromSession('acct-1', ['pwd', 'otp', 'mfa']);
    assert.deepEqual(state.amr, ['pwd', 'otp']);
    assert.deepEqual(state.factors, ['knowledge', 'possession']);
    assert.deepEqual(nextStep(state, MFA, ALL), {
      next: 'done',
      accountId: 'acct-1',
      acr: ACR.mfa,
      amr: ['pwd', 'otp', 'mfa'],
    });
    // … but not phishing resistance.
    assert.equal(nextStep(state, PHISHING_RESISTANT, ALL).next, 'second_factor');
  });

  it('a passkey session with user verification is phishing-resistant; without it, possession only', () => {
    for (const amr of [
      ['hwk', 'user', 'mfa'],
      ['swk', 'user', 'mfa'],
    ]) {
      const state = stateFromSession('acct-1', amr);
      assert.equal(state.phishingResistant, true, amr.join());
      assert.equal(nextStep(state, PHISHING_RESISTANT, NONE).next, 'done', amr.join());
    }
    const noUv = stateFromSession('acct-1', ['pwd', 'hwk', 'mfa']);
    assert.equal(noUv.phishingResistant, false);
    assert.deepEqual(noUv.factors, ['knowledge', 'possession']);
    // `user` without an authenticator (a claim we never issue alone) proves nothing phishing-resistant.
    assert.equal(stateFromSession('acct-1', ['pwd', 'user']).phishingResistant, false);
  });

  it('a session without amr proves nothing beyond who it is', () => {
    const state = stateFromSession('acct-1');
    assert.deepEqual(state, { accountId: 'acct-1', methods: [], amr: [], factors: [], phishingResistant: false });
  });

  it('a step-up from a session can only continue as the session’s account', () => {
    assert.throws(() => applyProof(stateFromSession('acct-1', ['pwd']), 'totp', 'acct-2', TOTP));
  });
});
