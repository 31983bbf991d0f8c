import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  COMMON_PASSWORDS_FILE,
  type HashedPasswordList,
  loadCommonPasswords,
  passwordKey,
} from '../../src/storage/common-passwords.js';

/** The list's definition, written the plain way: each line trimmed, lower-cased, NFC; 4 characters or more; each once. */
function referenceEntries(text: string): Set<string> {
  const entries = new Set<string>();
  for (const line of text.split('\n')) {
    const entry = line.trim().toLowerCase().normalize('NFC');
    if (entry.length >= 4) entries.add(entry);
  }
  return entries;
}

/** The list holds exactly these entries: each is found, and there are no more keys than entries. */
function assertHoldsExactly(list: HashedPasswordList, entries: Set<string>): void {
  const missing = [...entries].filter((entry) => !list.has(entry));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} entries not found`);
  const keys = new Set([...entries].map(passwordKey));
  assert.equal(list.size, keys.size, 'one key per distinct entry');
}

describe('the common password list as loaded', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-pwlist-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds exactly the shipped file’s entries, as the plain definition reads them', async () => {
    const text = gunzipSync(readFileSync(COMMON_PASSWORDS_FILE)).toString('utf8');
    const entries = referenceEntries(text);
    const list = await loadCommonPasswords(COMMON_PASSWORDS_FILE);
    assertHoldsExactly(list, entries);
    assert.ok(!list.has('correct horse battery staple gatehouse'), 'a passphrase that is not on it');
  });

  it('reads awkward lines like the definition: CRLF, case, spaces and tabs, a BOM, non-ASCII, NFD, duplicates', async () => {
    const lines = [
      '\uFEFFbomfirst', // a byte order mark on the first line (trim removes it)
      'Password1\r',
      '  PaddedEntry \t',
      'PASSWORD1', // a duplicate of the second, in another case
      'abc', // too short: no entry
      ' ab\r', // too short after trimming
      '',
      'ÉCOLE1234', // non-ASCII: lower-cased by Unicode rules
      'e\u0301cole5678', // NFD: normalised to NFC
      '\u212Aelvin99', // KELVIN SIGN lower-cases to an ASCII k
      'tab\tinside',
      '\u00A0nbsp-padded\u00A0', // a non-ASCII space, trimmed
      'ΣΊΣΥΦΟΣ', // Greek final sigma
      'ends-without-newline',
    ];
    const text = lines.join('\n');
    const file = path.join(dir, 'awkward.txt.gz');
    writeFileSync(file, gzipSync(text));
    const list = await loadCommonPasswords(file);
    const entries = referenceEntries(text);
    assertHoldsExactly(list, entries);
    for (const entry of ['bomfirst', 'password1', 'paddedentry', 'école1234', 'école5678', 'kelvin99', 'tab\tinside'])
      assert.ok(list.has(entry), entry);
    for (const entry of ['abc', 'Password1', 'PaddedEntry', ' paddedentry', 'e\u0301cole5678'])
      assert.ok(!list.has(entry), `not an entry as written: ${JSON.stringify(entry)}`);
    assert.equal(list.size, entries.size);
  });
});
