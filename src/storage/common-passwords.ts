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

/** Two independent 32-bit hashes of the UTF-16 code units (FNV-1a and djb2-xor, each finalised) as one 64-bit key. */
export function passwordKey(entry: string): bigint {
  let fnv = 0x811c9dc5;
  let djb = 5381;
  for (let i = 0; i < entry.length; i++) {
    const c = entry.charCodeAt(i);
    fnv = Math.imul(fnv ^ c, 0x01000193);
    djb = Math.imul(djb, 33) ^ c;
  }
  return (BigInt(fmix32(fnv)) << 32n) | BigInt(fmix32(djb ^ entry.length));
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

async function readList(file: string): Promise<HashedPasswordList> {
  const text = (await promisify(gunzip)(await readFile(file))).toString('utf8');
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  // Filled in place: no array of intermediate BigInts (they would cost more than the list itself).
  const keys = new BigUint64Array(lines);
  let filled = 0;
  // Line by line with indexOf rather than one split(): no single step holds the event loop long.
  for (let start = 0, count = 1; start < text.length; count++) {
    if (count % ENTRIES_PER_TURN === 0) await yieldToEventLoop();
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    let entry = text.slice(start, end).trim().toLowerCase();
    start = end + 1;
    // Nearly all entries are ASCII; normalising only the others keeps the load fast.
    if (!/^[\x20-\x7e]*$/.test(entry)) entry = entry.normalize('NFC');
    if (entry.length >= MIN_ENTRY_LENGTH) keys[filled++] = passwordKey(entry);
  }
  const sorted = keys.subarray(0, filled).sort();
  // Duplicates (the same entry in several cases or with trailing spaces) are dropped after sorting.
  let unique = 0;
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i]!;
  return new HashedPasswordList(sorted.slice(0, unique));
}
