import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

export interface DirectoryLock {
  release(): void;
}

export class DirectoryLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `data directory ${dir} is in use by another Gatehouse process (pid ${pid}); ` +
        'PGlite allows one process per directory: stop it, or set GATEHOUSE_DATA_DIR to another directory, ' +
        'or use DATABASE_URL for several instances',
    );
    this.name = 'DirectoryLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on a data directory: a lock file created with O_EXCL holding our pid.
 * A lock left by a process that died (kill -9, power loss) is taken over, since its pid is gone.
 */
export function acquireDirectoryLock(dir: string): DirectoryLock {
  const file = path.join(dir, 'gatehouse.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname() }), { flag: 'wx', mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
        process.off('exit', release);
      };
      process.on('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(JSON.parse(fs.readFileSync(file, 'utf8')).pid) || 0;
      } catch {
        /* torn write: treat as stale */
      }
      if (holder && holder !== process.pid && isAlive(holder)) throw new DirectoryLockedError(dir, holder);
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock data directory ${dir}`);
}
