import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CROCKFORD_ALPHABET,
  newRecoveryCode,
  newRecoveryCodeSet,
  normaliseRecoveryCode,
  RECOVERY_CODE_BITS,
} from '../../src/domain/authn/recovery-codes/recovery-code-format.js';

describe('recovery code format', () => {
  it('a set is 10 distinct codes shaped xxxx-xxxx-xxxx from Crockford base32', () => {
    const set = newRecoveryCodeSet();
    assert.equal(set.length, 10);
    assert.equal(new Set(set).size, 10);
    const alphabet = CROCKFORD_ALPHABET.toLowerCase();
    for (const code of set) {
      assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
      for (const c of code.replace(/-/g, '')) assert.ok(alphabet.includes(c), `${c} in ${code}`);
    }
  });

  it('each code carries at least 50 bits: 12 characters of a 32-letter alphabet, every letter used', () => {
    assert.equal(CROCKFORD_ALPHABET.length, 32);
    assert.ok(RECOVERY_CODE_BITS >= 50, `${RECOVERY_CODE_BITS} bits`);
    assert.equal(RECOVERY_CODE_BITS, 60);
    // 2,000 codes × 12 characters: each of the 32 characters turns up (750 times on average), none
    // far off uniform (a biased generator, e.g. a byte modulo a non-power of two, would skew).
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++)
      for (const c of newRecoveryCode().replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 32);
    for (const [c, n] of counts) assert.ok(n > 550 && n < 950, `${c}: ${n}`);
  });

  it('normalises case, dashes, spaces and look-alike letters; refuses what cannot be a code', () => {
    assert.equal(normaliseRecoveryCode('ab1c-de2f-gh3j'), 'AB1CDE2FGH3J');
    assert.equal(normaliseRecoveryCode('  AB1C DE2F  GH3J '), 'AB1CDE2FGH3J');
    assert.equal(normaliseRecoveryCode('ab1cde2fgh3j'), 'AB1CDE2FGH3J');
    assert.equal(normaliseRecoveryCode('oOiI-lL00-1111'), '001111001111');
    assert.equal(normaliseRecoveryCode('ab1c-de2f-gh3'), undefined, 'too short');
    assert.equal(normaliseRecoveryCode('ab1c-de2f-gh3jk'), undefined, 'too long');
    assert.equal(normaliseRecoveryCode('ab1c-de2f-gh3u'), undefined, 'U is not in the alphabet');
    assert.equal(normaliseRecoveryCode('ab1c-de2f-gh3!'), undefined);
    assert.equal(normaliseRecoveryCode(''), undefined);
    for (const code of newRecoveryCodeSet()) assert.ok(normaliseRecoveryCode(code));
  });
});
