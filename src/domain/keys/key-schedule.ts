/**
 * The signing-key life cycle as pure functions of stored times, so every instance derives the
 * same state from the same rows without coordinating:
 *
 *   next ──activated_at──▶ current ──deactivated_at──▶ previous ──retired_at──▶ retired
 *                                        (revoked_at: retired at once, from any state)
 *
 * `next` keys are published in JWKS but do not sign; `previous` keys only verify, until every
 * token they can have signed has expired.
 */

export type KeyState = 'next' | 'current' | 'previous' | 'retired';

export interface KeyTimes {
  kid: string;
  alg: string;
  createdAt: Date;
  /** When the key starts (or started) signing. */
  activatedAt: Date;
  /** When its successor took (or takes) over; unset while no successor is staged. */
  deactivatedAt?: Date;
  /** When it leaves JWKS; set together with deactivatedAt. */
  retiredAt?: Date;
  /** Emergency revocation: out of JWKS from this moment. */
  revokedAt?: Date;
}

export function keyState(key: KeyTimes, now: Date): KeyState {
  const t = now.getTime();
  if (key.revokedAt && key.revokedAt.getTime() <= t) return 'retired';
  if (key.retiredAt && key.retiredAt.getTime() <= t) return 'retired';
  if (t < key.activatedAt.getTime()) return 'next';
  if (key.deactivatedAt && key.deactivatedAt.getTime() <= t) return 'previous';
  return 'current';
}

/** The moment the next transition of any key happens (to re-evaluate then), if one is scheduled. */
export function nextTransition(keys: KeyTimes[], now: Date): Date | undefined {
  const t = now.getTime();
  const times = keys.flatMap((k) => [k.activatedAt, k.deactivatedAt, k.retiredAt, k.revokedAt])
    .filter((d): d is Date => d !== undefined && d.getTime() > t)
    .map((d) => d.getTime());
  return times.length ? new Date(Math.min(...times)) : undefined;
}

/** A change to the key table decided by the domain and written by the repository in one transaction. */
export interface KeyChange {
  insert: { alg: string; activatedAt: Date }[];
  update: { kid: string; activatedAt?: Date; deactivatedAt?: Date; retiredAt?: Date; revokedAt?: Date }[];
}

export interface RotationPlanInput {
  algs: readonly string[];
  now: Date;
  publishSeconds: number;
  /** How long a replaced key keeps verifying after it stops signing. */
  retireAfterSeconds: number;
}

/** The signing key of each algorithm at `now`; with several (a race), the newest activation wins. */
export function currentKeys(keys: KeyTimes[], now: Date): Map<string, KeyTimes> {
  const byAlg = new Map<string, KeyTimes>();
  for (const k of keys) {
    if (keyState(k, now) !== 'current') continue;
    const seen = byAlg.get(k.alg);
    if (!seen || seen.activatedAt < k.activatedAt) byAlg.set(k.alg, k);
  }
  return byAlg;
}

export class RotationConflict extends Error {}

/**
 * Staged rotation: a new key per algorithm, published now and signing after `publishSeconds`;
 * at that moment the current key becomes `previous` and retires `retireAfterSeconds` later.
 * Refused while a rotation of the same algorithm is still staged (a `next` key exists).
 */
export function planRotation(keys: KeyTimes[], input: RotationPlanInput): KeyChange {
  const { now, algs } = input;
  const staged = keys.filter((k) => algs.includes(k.alg) && keyState(k, now) === 'next');
  if (staged.length) throw new RotationConflict(`a rotation is already staged for ${[...new Set(staged.map((k) => k.alg))].join(', ')} (activates ${staged[0]!.activatedAt.toISOString()})`);
  const activatedAt = new Date(now.getTime() + input.publishSeconds * 1000);
  const retiredAt = new Date(activatedAt.getTime() + input.retireAfterSeconds * 1000);
  const current = currentKeys(keys, now);
  return {
    insert: algs.map((alg) => ({ alg, activatedAt })),
    update: algs.flatMap((alg) => {
      const old = current.get(alg);
      return old ? [{ kid: old.kid, deactivatedAt: activatedAt, retiredAt }] : [];
    }),
  };
}

/**
 * Emergency revocation: the key leaves JWKS now. When it was signing, its algorithm needs a
 * signer at once: a staged `next` key is promoted now, otherwise a new key is made active now.
 */
export function planRevocation(keys: KeyTimes[], kid: string, now: Date): KeyChange {
  const key = keys.find((k) => k.kid === kid)!;
  const state = keyState(key, now);
  const change: KeyChange = { insert: [], update: [{ kid, revokedAt: now }] };
  if (state !== 'current') return change;
  const staged = keys
    .filter((k) => k.alg === key.alg && keyState(k, now) === 'next')
    .sort((a, b) => a.activatedAt.getTime() - b.activatedAt.getTime())[0];
  // A staged key is already in relying parties' caches: promote it rather than make a new one.
  if (staged) change.update.push({ kid: staged.kid, activatedAt: now });
  else change.insert.push({ alg: key.alg, activatedAt: now });
  return change;
}

/** Scheduled rotation is due for these algorithms: their current key is older than the interval and nothing is staged. */
export function rotationDue(keys: KeyTimes[], now: Date, intervalSeconds: number): string[] {
  if (intervalSeconds <= 0) return [];
  const due: string[] = [];
  for (const [alg, key] of currentKeys(keys, now)) {
    const staged = keys.some((k) => k.alg === alg && keyState(k, now) === 'next');
    if (!staged && now.getTime() - key.activatedAt.getTime() >= intervalSeconds * 1000) due.push(alg);
  }
  return due;
}
