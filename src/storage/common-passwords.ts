import { readFile } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { projectPath } from '../project-paths.js';

/**
 * The common and breached password list shipped with the source (provenance, licence and sha256 in
 * password-lists/README.md and docs/security.md). Read from the checkout's src/, like views/, so a
 * fresh clone, `npm test`, a built start (dist/) and the Docker image (which copies src/) all find it.
 */
export const COMMON_PASSWORDS_FILE = projectPath('src/storage/password-lists/common-passwords.txt.gz');

/**
 * Entries shorter than this can match nothing: a password has at least 8 characters
 * (PASSWORD_MIN_LENGTH's floor) and a base left after stripping digits and symbols at least 4.
 */
const MIN_ENTRY_LENGTH = 4;
/** Entries read between two turns of the event loop: a few ms of work, so start-up never stalls a server. */
const ENTRIES_PER_TURN = 20_000;

/** One load per file per process: several instances in one process (tests) share the read-only list. */
const loads = new Map<string, Promise<HashedPasswordList>>();

/** murmur3's finaliser: spreads every input bit over the 32-bit result. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The two 32-bit halves of an entry's key (FNV-1a and djb2-xor of its UTF-16 code units, each
 * finalised) into `scratch`, hashed from `text[start, end)`, with ASCII upper case folded to lower
 * case on the way when `foldAscii`. One definition for the lookup and for the load, which hashes
 * straight from the file's text without a string per entry.
 */
function keyHalves(text: string, start: number, end: number, foldAscii: boolean): void {
  let fnv = 0x811c9dc5;
  let djb = 5381;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (foldAscii && c >= 0x41 && c <= 0x5a) c += 0x20;
    fnv = Math.imul(fnv ^ c, 0x01000193);
    djb = Math.imul(djb, 33) ^ c;
  }
  scratch[0] = fmix32(fnv);
  scratch[1] = fmix32(djb ^ (end - start));
}
/** keyHalves' result: [high, low]. */
const scratch = new Uint32Array(2);

/** Two independent 32-bit hashes of the UTF-16 code units (FNV-1a and djb2-xor, each finalised) as one 64-bit key. */
export function passwordKey(entry: string): bigint {
  keyHalves(entry, 0, entry.length, false);
  return (BigInt(scratch[0]!) << 32n) | BigInt(scratch[1]!);
}

/**
 * The list as a sorted array of 64-bit keys of its entries: 8 bytes an entry (≈3 MB for 400,000)
 * instead of a set of strings (≈70 MB resident), built in tens of milliseconds. A lookup is a
 * binary search. Two different passwords share a key with a probability of about n / 2^64
 * (≈2 × 10^-14 for this list): a good password is refused by mistake practically never.
 */
export class HashedPasswordList {
  constructor(private readonly keys: BigUint64Array) {}

  get size(): number {
    return this.keys.length;
  }

  has(entry: string): boolean {
    const key = passwordKey(entry);
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid]!;
      if (k === key) return true;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

/**
 * The list of lower-cased, trimmed, NFC-normalised entries (the upstream file has carriage
 * returns, mixed case and duplicates) as a HashedPasswordList. Gunzip runs on the thread pool;
 * the keys are computed in slices between event-loop turns.
 */
export function loadCommonPasswords(file = COMMON_PASSWORDS_FILE): Promise<HashedPasswordList> {
  let load = loads.get(file);
  if (!load) {
    load = readList(file);
    loads.set(file, load);
    load.catch(() => loads.delete(file));
  }
  return load;
}

/** Where a 64-bit key's high and low 32-bit halves sit in a Uint32Array view of a BigUint64Array. */
const [HIGH, LOW] = new Uint32Array(new BigUint64Array([1n]).buffer)[0] === 1 ? [1, 0] : [0, 1];

/** ASCII whitespace that String.prototype.trim removes (tab, line feed, vertical tab, form feed, carriage return, space). */
const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** The keys of the list's entries, added to `keys` from `halves`' view of it. */
class KeyBuilder {
  filled = 0;
  readonly #halves: Uint32Array;

  constructor(readonly keys: BigUint64Array) {
    this.#halves = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
  }

  /**
   * Adds the entries of up to `max` lines from `start`; returns where the next line starts. An
   * entry is its line trimmed, lower-cased and NFC-normalised. Nearly all are printable ASCII:
   * those are trimmed and folded while hashing, with no string made; the others go through the
   * string functions. (A plain function between the event-loop turns, so V8 optimises the loop.)
   */
  addLines(text: string, start: number, max: number): number {
    for (let line = 0; line < max && start < text.length; line++) {
      const newline = text.indexOf('\n', start);
      const lineEnd = newline < 0 ? text.length : newline;
      let from = start;
      let to = lineEnd;
      while (from < to && isAsciiSpace(text.charCodeAt(from))) from++;
      while (to > from && isAsciiSpace(text.charCodeAt(to - 1))) to--;
      let ascii = true;
      for (let i = from; i < to && ascii; i++) {
        const c = text.charCodeAt(i);
        ascii = c >= 0x20 && c <= 0x7e;
      }
      if (ascii) {
        if (to - from >= MIN_ENTRY_LENGTH) this.#add(text, from, to, true);
      } else {
        const entry = text.slice(start, lineEnd).trim().toLowerCase().normalize('NFC');
        if (entry.length >= MIN_ENTRY_LENGTH) this.#add(entry, 0, entry.length, false);
      }
      start = lineEnd + 1;
    }
    return start;
  }

  /**
   * The keys sorted, each once: the same entry in several cases or with trailing spaces gives one
   * key. Compared through the 32-bit view, since reading a BigUint64Array element makes a BigInt.
   */
  sortedUnique(): BigUint64Array {
    const sorted = this.keys.subarray(0, this.filled).sort();
    const h = this.#halves;
    let unique = 0;
    for (let i = 0; i < this.filled; i++) {
      if (unique > 0 && h[2 * i] === h[2 * (unique - 1)] && h[2 * i + 1] === h[2 * (unique - 1) + 1]) continue;
      h[2 * unique] = h[2 * i]!;
      h[2 * unique + 1] = h[2 * i + 1]!;
      unique++;
    }
    return sorted.slice(0, unique);
  }

  #add(text: string, start: number, end: number, foldAscii: boolean): void {
    keyHalves(text, start, end, foldAscii);
    this.#halves[2 * this.filled + HIGH] = scratch[0]!;
    this.#halves[2 * this.filled + LOW] = scratch[1]!;
    this.filled++;
  }
}

function lineCount(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}

async function readList(file: string): Promise<HashedPasswordList> {
  const text = (await promisify(gunzip)(await readFile(file))).toString('utf8');
  // Filled in place through a 32-bit view: no string and no BigInt per entry (400,000 of each
  // would cost more time and garbage than the list itself).
  const builder = new KeyBuilder(new BigUint64Array(lineCount(text)));
  for (let start = 0; start < text.length; ) {
    start = builder.addLines(text, start, ENTRIES_PER_TURN);
    if (start < text.length) await yieldToEventLoop();
  }
  return new HashedPasswordList(builder.sortedUnique());
}
