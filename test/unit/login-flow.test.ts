import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyStep, type LoginState, type LoginStep, nextStep } from '../../src/domain/authn/login-flow.js';

/** Steps as the flow sees them: an id and whether they are still needed for the state so far. */
const step = (id: string, required: (s: LoginState) => boolean = () => true): LoginStep => ({ id, required });
const START: LoginState = { amr: [], completed: [] };

describe('login steps', () => {
  const password = step('password');
  const otp = step('otp', (s) => s.accountId === 'with-mfa');
  const steps = [password, otp];

  it('runs the steps in order, skipping completed ones and those not required', () => {
    assert.equal(nextStep(steps, START), password);
    const afterPassword = applyStep(START, 'password', { accountId: 'no-mfa', amr: ['pwd'] });
    assert.equal(nextStep(steps, afterPassword), undefined, 'otp is not required for this account: done');
    const mfa = applyStep(START, 'password', { accountId: 'with-mfa', amr: ['pwd'] });
    assert.equal(nextStep(steps, mfa), otp);
    assert.equal(nextStep(steps, applyStep(mfa, 'otp', { amr: ['otp'] })), undefined);
  });

  it('accumulates amr without duplicates and keeps the account', () => {
    const s1 = applyStep(START, 'password', { accountId: 'u1', amr: ['pwd'] });
    const s2 = applyStep(s1, 'otp', { amr: ['otp', 'pwd'] });
    assert.deepEqual(s2, { accountId: 'u1', amr: ['pwd', 'otp'], completed: ['password', 'otp'] });
  });

  it('never lets a later step switch the account', () => {
    const s1 = applyStep(START, 'password', { accountId: 'u1', amr: ['pwd'] });
    assert.throws(() => applyStep(s1, 'passkey', { accountId: 'u2', amr: ['hwk'] }), /different account/);
    assert.equal(applyStep(s1, 'passkey', { accountId: 'u1' }).accountId, 'u1', 'the same account again is fine');
  });

  it('returns a new state and leaves the old one as it was (it is persisted between requests)', () => {
    const before: LoginState = { accountId: 'u1', amr: ['pwd'], completed: ['password'] };
    const copy = structuredClone(before);
    applyStep(before, 'otp', { amr: ['otp'] });
    assert.deepEqual(before, copy);
  });
});
