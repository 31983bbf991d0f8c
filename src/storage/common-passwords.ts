import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

/**
 * The common and breached password list shipped with the source (provenance, licence and sha256 in
 * password-lists/README.md and docs/security.md). Read relative to this file, like views/, so a
 * fresh clone, `npm test` and the Docker image (which copies src/) all find it.
 */
export const COMMON_PASSWORDS_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  'password-lists/common-passwords.txt.gz',
);

/**
 * Entries shorter than this can match nothing: a password has at least 8 characters
 * (PASSWORD_MIN_LENGTH's floor) and a base left after stripping digits and symbols at least 4.
 */
const MIN_ENTRY_LENGTH = 4;
/** Entries added between two turns of the event loop: ~10 ms of work, so start-up never stalls a server. */
const ENTRIES_PER_TURN = 20_000;

/** One load per file per process: several instances in one process (tests) share the read-only set. */
const loads = new Map<string, Promise<ReadonlySet<string>>>();

/**
 * The list as a set of lower-cased, trimmed, NFC-normalised entries (the upstream file has
 * carriage returns, mixed case and duplicates). Gunzip runs on the thread pool; the set is built
 * in slices between event-loop turns. Lookups are then O(1).
 */
export function loadCommonPasswords(file = COMMON_PASSWORDS_FILE): Promise<ReadonlySet<string>> {
  let load = loads.get(file);
  if (!load) {
    load = readList(file);
    loads.set(file, load);
    load.catch(() => loads.delete(file));
  }
  return load;
}

async function readList(file: string): Promise<ReadonlySet<string>> {
  const text = (await promisify(gunzip)(await readFile(file))).toString('utf8');
  const entries = new Set<string>();
  // Line by line with indexOf rather than one split(): no single step holds the event loop long.
  for (let start = 0, count = 1; start < text.length; count++) {
    if (count % ENTRIES_PER_TURN === 0) await yieldToEventLoop();
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    let entry = text.slice(start, end).trim().toLowerCase();
    start = end + 1;
    // Nearly all entries are ASCII; normalising only the others keeps the load fast.
    if (!/^[\x20-\x7e]*$/.test(entry)) entry = entry.normalize('NFC');
    if (entry.length >= MIN_ENTRY_LENGTH) entries.add(entry);
  }
  return entries;
}
