import fs from 'node:fs';

/** The data directory holds the whole database: nobody but the owner may list or read it. */
const PRIVATE_MODE = 0o700;

export class DataDirectoryPermissionError extends Error {
  constructor(dir: string, reason: string) {
    super(
      `data directory ${dir} must be private (mode 0700) but ${reason}; ` +
        `run Gatehouse as the directory's owner, or fix it: chmod 700 ${dir}`,
    );
    this.name = 'DataDirectoryPermissionError';
  }
}

/** The file-system calls used, so a test can make chmod fail the way another user's directory does. */
export interface DirectoryOps {
  mkdirSync(dir: string, options: { recursive: true; mode: number }): unknown;
  statSync(dir: string): { mode: number; uid: number };
  chmodSync(dir: string, mode: number): void;
}

/**
 * Creates `dir` (0700) or forces an existing one to 0700 — a directory made by hand or by a
 * copy (`cp -r`, a restored backup) often comes with 0755. Refuses with a clear error when the
 * mode cannot be set (another user's directory, a read-only mount) instead of serving from it.
 */
export function ensurePrivateDirectory(dir: string, ops: DirectoryOps = fs): void {
  try {
    ops.mkdirSync(dir, { recursive: true, mode: PRIVATE_MODE });
  } catch (err) {
    throw new DataDirectoryPermissionError(
      dir,
      `it cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const before = ops.statSync(dir);
  if ((before.mode & 0o777) === PRIVATE_MODE) return;
  try {
    ops.chmodSync(dir, PRIVATE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DataDirectoryPermissionError(dir, `chmod failed (${code}; owner uid ${before.uid})`);
  }
  const after = ops.statSync(dir);
  if ((after.mode & 0o777) !== PRIVATE_MODE) {
    throw new DataDirectoryPermissionError(dir, `its mode stays ${(after.mode & 0o777).toString(8)} after chmod`);
  }
}
