import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  checkPassword,
  type PasswordContext,
  type PasswordPolicy,
  PASSWORD_RULE_MESSAGES,
} from '../../src/domain/accounts/password-policy.js';
import {
  emailWords,
  isRepetitiveOrSequential,
  listCandidates,
  nameWords,
  serviceWords,
} from '../../src/domain/accounts/password-rules.js';
import { loadCommonPasswords } from '../../src/storage/common-passwords.js';

const ADA = { email: 'ada.lovelace@analytical-engine.org', name: 'Ada Lovelace' };

describe('password rules (NIST SP 800-63B-4 §3.1.1.2)', () => {
  let policy: PasswordPolicy;
  before(async () => {
    policy = {
      minLength: 15,
      maxLength: 256,
      serviceWords: serviceWords('Gatehouse', 'https://id.example-corp.com'),
      commonPasswords: await loadCommonPasswords(),
    };
  });
  const refusal = (password: string, context: PasswordContext = ADA, p = policy): string | undefined => {
    try {
      checkPassword(p, password, context);
      return undefined;
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'invalid_password');
      return (err as Error).message;
    }
  };

  it('ships a list of more than 100,000 entries, loaded once', async () => {
    assert.ok(policy.commonPasswords.size > 100_000, `${policy.commonPasswords.size} entries`);
    assert.equal(await loadCommonPasswords(), policy.commonPasswords);
  });

  it('accepts good passphrases', () => {
    for (const good of [
      'correct horse battery staple',
      'a completely different passphrase',
      'tangerine cobalt whistle',
      'Tr0ub4dor&3-horse-staple',
      'mauve otters juggle 71 lanterns',
      'Ünïcødé pässphrâse wörks tôo',
    ])
      assert.equal(refusal(good), undefined, good);
  });

  it('keeps the length rule first', () => {
    assert.equal(refusal('short pass'), 'password must be at least 15 characters');
    assert.equal(refusal('x'.repeat(257)), 'password must be at most 256 characters');
  });

  it('refuses real list entries, case-insensitively, and with digits or symbols added around them', () => {
    const common = PASSWORD_RULE_MESSAGES.common;
    // Entries of the shipped list, 15 characters or longer as they are.
    for (const entry of ['passwordstandard', 'Mailcreated5240', 'lhbjkjubz2957704', 'QAZWSXEDCRFVTGB'])
      assert.equal(refusal(entry), common, entry);
    // Short entries padded to the minimum length the way people pad them.
    for (const padded of ['Sunshine2024!!!!', '!!superman-1987!!', 'Baseball 0987 65', 'i love you forever'])
      assert.equal(refusal(padded), common, padded);
    assert.deepEqual(listCandidates('  Dragon 2024! '), ['  dragon 2024! ', 'dragon2024!', 'dragon']);
  });

  it('checks list entries of 8 characters when PASSWORD_MIN_LENGTH is 8', () => {
    const eight = { ...policy, minLength: 8 };
    for (const entry of ['trustno1', 'jennifer', 'superman', 'whatever'])
      assert.equal(refusal(entry, {}, eight), PASSWORD_RULE_MESSAGES.common);
    assert.equal(refusal('plum-otter-vast', {}, eight), undefined);
  });

  it('refuses the name of this service and of its host, also with separators and digits for letters', () => {
    const service = PASSWORD_RULE_MESSAGES.service;
    assert.deepEqual(serviceWords('Gatehouse', 'https://id.example-corp.com'), [
      'gatehouse',
      'idexamplecorpcom',
      'examplecorp',
    ]);
    assert.equal(refusal('my gatehouse passphrase'), service);
    assert.equal(refusal('G4te-H0use is where I log in'), service);
    assert.equal(refusal('working at Example-Corp since'), service);
    assert.deepEqual(serviceWords('Gatehouse', 'http://127.0.0.1:3000'), ['gatehouse'], 'no words from an IP');
  });

  it("refuses the user's email address (local part and domain) and name", () => {
    assert.deepEqual(emailWords(ADA.email), ['adalovelace', 'lovelace', 'analyticalengineorg', 'analyticalengine']);
    assert.deepEqual(nameWords(ADA.name), ['adalovelace', 'lovelace']);
    assert.equal(refusal('ada.lovelace wrote programs'), PASSWORD_RULE_MESSAGES.email);
    assert.equal(refusal('the analytical-engine hums along'), PASSWORD_RULE_MESSAGES.email);
    assert.equal(
      refusal('Countess Lovelace of numbers', { name: ADA.name, email: 'x@y.org' }),
      PASSWORD_RULE_MESSAGES.name,
    );
    // Pieces under 4 characters are not words to refuse: "ada" inside "lemonade" is chance.
    assert.equal(refusal('lemonade arcade parade', { name: 'Ada', email: 'ada@x.io' }), undefined);
    assert.equal(refusal('Countess Lovelace of numbers', {}), undefined, 'no context, no context rule');
  });

  it('refuses repetitive and sequential strings', () => {
    const repetitive = PASSWORD_RULE_MESSAGES.repetitive;
    for (const weak of [
      'aaaaaaaaaaaaaaaa',
      '123456789012345',
      'abcdefghijklmnop',
      'zyxwvutsrqponmlk',
      'qwertyuiopasdfghjkl',
      'passwordpassword',
      'password password password',
      'abcabcabcabcabc',
      'horsehorsehorse!',
      '!@#$%^&*()!@#$%^',
      'aaaabbbbaaaabbbb',
      'river 123456789012',
    ])
      assert.equal(refusal(weak, {}), repetitive, weak);
    for (const ok of ['correct horse battery staple', 'abc is an easy start to learn', 'zebra 123 quilt mango'])
      assert.equal(isRepetitiveOrSequential(ok), false, ok);
  });

  it('checks a maximum-length password in well under a millisecond per rule', () => {
    const long = { ...policy, maxLength: 4096 };
    const started = performance.now();
    assert.equal(refusal(`${'ab'.repeat(2047)}xy`, ADA, long), PASSWORD_RULE_MESSAGES.repetitive);
    let seed = 7;
    const noise = Array.from({ length: 4096 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 'abcdefghijklmnopqrstuvwxyz0123456789!?-_'[(seed >> 16) % 40];
    }).join('');
    assert.equal(refusal(noise, ADA, long), undefined, 'every rule runs to the end and passes');
    assert.ok(performance.now() - started < 200, 'linear, not quadratic');
  });
});
