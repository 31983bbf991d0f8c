import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  currentKeys,
  type KeyTimes,
  keyState,
  nextTransition,
  planRevocation,
  planRotation,
  RotationConflict,
  rotationDue,
} from '../../src/domain/keys/key-schedule.js';

/** The signing-key life cycle is a pure function of stored times: each test sets the clock by passing `now`. */
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const justBefore = (seconds: number) => new Date(T0 + seconds * 1000 - 1);

const key = (kid: string, times: Partial<KeyTimes> & { activatedAt: Date }, alg = 'ES256'): KeyTimes => ({
  kid,
  alg,
  createdAt: at(0),
  ...times,
});

describe('key state at a moment', () => {
  const k = key('a', { activatedAt: at(100), deactivatedAt: at(200), retiredAt: at(300) });

  it('changes state exactly at each stored time, not a millisecond earlier', () => {
    assert.equal(keyState(k, justBefore(100)), 'next');
    assert.equal(keyState(k, at(100)), 'current');
    assert.equal(keyState(k, justBefore(200)), 'current');
    assert.equal(keyState(k, at(200)), 'previous');
    assert.equal(keyState(k, justBefore(300)), 'previous');
    assert.equal(keyState(k, at(300)), 'retired');
  });

  it('a revocation retires the key from its moment on, whatever the state', () => {
    const revoked = { ...k, revokedAt: at(150) };
    assert.equal(keyState(revoked, justBefore(150)), 'current');
    assert.equal(keyState(revoked, at(150)), 'retired');
    assert.equal(
      keyState({ ...k, revokedAt: at(50) }, at(60)),
      'retired',
      'a staged key can be revoked before it signs',
    );
  });

  it('the next transition is the earliest stored time strictly after now', () => {
    const keys = [k, key('b', { activatedAt: at(200) })];
    assert.deepEqual(nextTransition(keys, at(0)), at(100));
    assert.deepEqual(nextTransition(keys, at(100)), at(200), 'a time equal to now has already happened');
    assert.deepEqual(nextTransition(keys, at(250)), at(300));
    assert.equal(nextTransition(keys, at(300)), undefined);
  });

  it('with two current keys of one algorithm (a race), the newest activation signs', () => {
    const keys = [
      key('old', { activatedAt: at(0) }),
      key('new', { activatedAt: at(10) }),
      key('rsa', { activatedAt: at(0) }, 'RS256'),
    ];
    const current = currentKeys(keys, at(20));
    assert.equal(current.get('ES256')?.kid, 'new');
    assert.equal(current.get('RS256')?.kid, 'rsa');
    assert.equal(currentKeys(keys, at(5)).get('ES256')?.kid, 'old', 'the newer key is still next');
  });
});

describe('staged rotation', () => {
  const input = { algs: ['ES256'], now: at(1000), publishSeconds: 60, retireAfterSeconds: 600 };

  it('publishes a new key now, hands over after the publish time, retires the old one after the overlap', () => {
    const change = planRotation([key('old', { activatedAt: at(0) })], input);
    assert.deepEqual(change.insert, [{ alg: 'ES256', activatedAt: at(1060) }]);
    assert.deepEqual(change.update, [{ kid: 'old', deactivatedAt: at(1060), retiredAt: at(1660) }]);
  });

  it('is refused while a rotation of the same algorithm is staged, and allowed once it activated', () => {
    const keys = [
      key('old', { activatedAt: at(0), deactivatedAt: at(1060) }),
      key('staged', { activatedAt: at(1060) }),
    ];
    assert.throws(() => planRotation(keys, input), RotationConflict);
    assert.throws(() => planRotation(keys, { ...input, now: justBefore(1060) }), RotationConflict);
    const later = planRotation(keys, { ...input, now: at(1060) });
    assert.deepEqual(
      later.update.map((u) => u.kid),
      ['staged'],
      'the key that signs now is the one replaced',
    );
    assert.doesNotThrow(() => planRotation(keys, { ...input, algs: ['RS256'] }), 'another algorithm is not blocked');
  });
});

describe('emergency revocation', () => {
  it('of the signing key promotes a staged key now rather than making a new one', () => {
    const keys = [
      key('cur', { activatedAt: at(0) }),
      key('late', { activatedAt: at(900) }),
      key('soon', { activatedAt: at(500) }),
    ];
    assert.deepEqual(planRevocation(keys, 'cur', at(100)), {
      insert: [],
      update: [
        { kid: 'cur', revokedAt: at(100) },
        { kid: 'soon', activatedAt: at(100) },
      ],
    });
  });

  it('of the signing key with nothing staged makes a new key active now', () => {
    assert.deepEqual(planRevocation([key('cur', { activatedAt: at(0) })], 'cur', at(100)), {
      insert: [{ alg: 'ES256', activatedAt: at(100) }],
      update: [{ kid: 'cur', revokedAt: at(100) }],
    });
  });

  it('of a key that no longer signs only removes it', () => {
    const previous = key('prev', { activatedAt: at(0), deactivatedAt: at(50), retiredAt: at(500) });
    assert.deepEqual(planRevocation([previous], 'prev', at(100)), {
      insert: [],
      update: [{ kid: 'prev', revokedAt: at(100) }],
    });
  });
});

describe('scheduled rotation', () => {
  const DAY = 86_400;
  const keys = [key('es', { activatedAt: at(0) }), key('rs', { activatedAt: at(DAY) }, 'RS256')];

  it('is due exactly when the current key reaches the interval', () => {
    assert.deepEqual(rotationDue(keys, justBefore(30 * DAY), 30 * DAY), []);
    assert.deepEqual(rotationDue(keys, at(30 * DAY), 30 * DAY), ['ES256']);
    assert.deepEqual(rotationDue(keys, at(31 * DAY), 30 * DAY).sort(), ['ES256', 'RS256']);
  });

  it('is not due while a rotation is staged, or when the interval is 0 (off)', () => {
    const staged = [...keys, key('es2', { activatedAt: at(31 * DAY) })];
    assert.deepEqual(rotationDue(staged, at(30 * DAY), 30 * DAY), []);
    assert.deepEqual(rotationDue(keys, at(365 * DAY), 0), []);
  });
});
