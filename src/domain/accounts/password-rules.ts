/**
 * The blocklist rules of NIST SP 800-63B-4 §3.1.1.2 for a new password: values that are commonly
 * used or compromised, context-specific words (the service, the user), and repetitive or
 * sequential characters. Pure functions; `checkPassword` (password-policy.ts) runs them in order.
 */

/** The blocklist: `has` of a lower-cased, NFC-normalised entry. A `Set<string>` is one. */
export interface CommonPasswordList {
  has(entry: string): boolean;
  readonly size: number;
}

/** Who the password is for: the words of the email address and the name must not be in it. */
export interface PasswordContext {
  email?: string | null;
  name?: string | null;
}

/**
 * Context pieces shorter than this are left out: "ada" or "com" inside a passphrase is a
 * coincidence more often than a hint, and refusing it would refuse good passphrases.
 */
const MIN_CONTEXT_WORD = 4;
/** A list entry found by stripping digits and symbols must keep this much: "a" + "1234…" is no word. */
const MIN_LIST_BASE = 4;
/** Fewer distinct characters than this cannot make a password worth having ("aaaabbbbaaaabbbb"). */
const MIN_DISTINCT_CHARACTERS = 4;
/** A run of this many characters in a row, equal, counting or along a keyboard row, is predictable. */
const MIN_RUN = 3;
/** Longest repeated unit looked for (linear cost); "correcthorsebatterystaple" twice is 25 — well inside. */
const MAX_REPEAT_UNIT = 64;

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };
/** Shifted digits on a US keyboard: "!@#$%^&*()" is the number row typed with shift. */
const SHIFTED_DIGITS: Record<string, string> = {
  '!': '1',
  '@': '2',
  '#': '3',
  $: '4',
  '%': '5',
  '^': '6',
  '&': '7',
  '*': '8',
  '(': '9',
  ')': '0',
};
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const KEY_POSITION = new Map<string, { row: number; column: number }>(
  KEYBOARD_ROWS.flatMap((keys, row) => [...keys].map((key, column) => [key, { row, column }] as const)),
);

/** Lower-case letters and digits only, common digit-for-letter swaps undone: "G4te-H0use" → "gatehouse". */
export function foldForComparison(text: string): string {
  return [...text.normalize('NFKC').toLowerCase()]
    .map((c) => LEET[c] ?? c)
    .filter((c) => /[\p{L}\p{N}]/u.test(c))
    .join('');
}

/** Words of a host name: the whole name and its labels but the last (the TLD says nothing). No IP literals. */
function hostWords(host: string): string[] {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!name || name.includes(':') || /^[\d.]+$/.test(name)) return [];
  const labels = name.split('.');
  return [name, ...(labels.length > 1 ? labels.slice(0, -1) : labels)];
}

function usable(words: string[]): string[] {
  return [...new Set(words.map(foldForComparison).filter((w) => w.length >= MIN_CONTEXT_WORD))];
}

/** What names this service: the product name and the issuer's host name (and its labels). */
export function serviceWords(productName: string, issuer: string): string[] {
  let host = '';
  try {
    host = new URL(issuer).hostname;
  } catch {
    // An issuer that is no URL has no host to protect; config validation refuses it anyway.
  }
  return usable([productName, ...hostWords(host)]);
}

/** The email address's words: the local part, its pieces ("ada.lovelace+x"), the domain and its labels. */
export function emailWords(email: string): string[] {
  const at = email.lastIndexOf('@');
  const local = at < 0 ? email : email.slice(0, at);
  const domain = at < 0 ? '' : email.slice(at + 1);
  return usable([local, ...local.split(/[._+-]+/), ...hostWords(domain)]);
}

/** The name's words: the whole name and each part of it. */
export function nameWords(name: string): string[] {
  return usable([name, ...name.split(/[\s,.'’-]+/)]);
}

/** The first word of `words` that `password` contains, compared folded (case, separators, leetspeak). */
export function containedWord(password: string, words: readonly string[]): string | undefined {
  const folded = foldForComparison(password);
  return words.find((word) => folded.includes(word));
}

/**
 * The forms looked up in the list: as typed (lower-cased), without spaces, and each without the
 * digits, symbols and spaces before and after it — "dragon123456789!" is "dragon" with a suffix that
 * a guessing attacker's rules add first.
 */
export function listCandidates(password: string): string[] {
  const typed = password.normalize('NFC').toLowerCase();
  const joined = typed.replace(/\s+/g, '');
  const candidates = new Set([typed, joined]);
  for (const form of [typed, joined]) {
    const base = form.replace(/^[\p{N}\p{P}\p{S}\s]+|[\p{N}\p{P}\p{S}\s]+$/gu, '');
    if ([...base].length >= MIN_LIST_BASE) candidates.add(base);
  }
  return [...candidates];
}

export function isCommonPassword(password: string, list: CommonPasswordList): boolean {
  return listCandidates(password).some((candidate) => list.has(candidate));
}

/**
 * Marks repeats: a stretch equal to the one just before it, a unit typed again ("horsehorse",
 * "abab", "aaa"). Units up to MAX_REPEAT_UNIT characters: linear in the length, however long.
 */
function markRepeats(c: readonly string[], covered: boolean[]): void {
  const longestUnit = Math.min(MAX_REPEAT_UNIT, c.length >> 1);
  for (let unit = 1; unit <= longestUnit; unit++) {
    let stretch = 0;
    for (let i = unit; i <= c.length; i++) {
      if (i < c.length && c[i] === c[i - unit]) {
        stretch++;
        continue;
      }
      // One full copy of the unit at least, and never fewer than MIN_RUN equal characters in all.
      if (stretch >= Math.max(unit, MIN_RUN - 1)) covered.fill(true, i - stretch - unit, i);
      stretch = 0;
    }
  }
}

/** How `b` follows `a`: the same, one up or down (letters or digits), one key right or left on a row. */
function step(a: string, b: string): string | undefined {
  if (a === b) return 'same';
  const sameClass = (/[a-z]/.test(a) && /[a-z]/.test(b)) || (/\d/.test(a) && /\d/.test(b));
  if (sameClass && Math.abs(a.charCodeAt(0) - b.charCodeAt(0)) === 1) return a < b ? 'up' : 'down';
  const [ka, kb] = [KEY_POSITION.get(a), KEY_POSITION.get(b)];
  if (ka && kb && ka.row === kb.row && Math.abs(ka.column - kb.column) === 1)
    return ka.column < kb.column ? 'right' : 'left';
  return undefined;
}

/**
 * Repetitive or sequential: fewer than 4 distinct characters, or more than half of the letters
 * and digits (spaces and symbols ignored) in repeats ("passwordpassword", "abab", "aaa") or in
 * runs of 3 or more that count up or down or walk along a keyboard row ("12345", "zyxw",
 * "qwerty", "!@#$%" as the shifted number row).
 */
export function isRepetitiveOrSequential(password: string): boolean {
  const lower = [...password.normalize('NFC').toLowerCase()];
  if (new Set(lower).size < MIN_DISTINCT_CHARACTERS) return true;
  const compact = lower.map((c) => SHIFTED_DIGITS[c] ?? c).filter((c) => /[\p{L}\p{N}]/u.test(c));
  if (compact.length < 2) return false;
  const covered = new Array<boolean>(compact.length).fill(false);
  markRepeats(compact, covered);
  let runStart = 0;
  let runKind: string | undefined;
  for (let i = 1; i <= compact.length; i++) {
    const kind = i < compact.length ? step(compact[i - 1]!, compact[i]!) : undefined;
    if (kind !== undefined && kind === runKind) continue;
    if (runKind !== undefined && i - runStart >= MIN_RUN) covered.fill(true, runStart, i);
    // The next run starts at the previous character: "abc" then "cde" share the "c".
    runKind = kind;
    runStart = i - 1;
  }
  return covered.filter(Boolean).length * 2 > compact.length;
}
