import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Reads a secret file from keys/, creating it with fresh random bytes (mode 0600) on first
 * start. Returns whether it was created, so the caller can log the path (never the value).
 */
export function readOrCreateSecretFile(
  dir: string,
  name: string,
  bytes: number,
): { value: string; created: boolean; file: string } {
  const file = path.resolve(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const value = fs.readFileSync(file, 'utf8').trim();
    if (value) return { value, created: false, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = randomBytes(bytes).toString('base64url');
  try {
    fs.writeFileSync(file, `${value}\n`, { flag: 'wx', mode: 0o600 });
    return { value, created: true, file };
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: fs.readFileSync(file, 'utf8').trim(), created: false, file };
    throw err;
  }
}
