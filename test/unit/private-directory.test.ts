import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DataDirectoryPermissionError,
  ensurePrivateDirectory,
  type DirectoryOps,
} from '../../src/storage/private-directory.js';

/** A directory of another user: stat works, chmod is refused (EPERM), as for a non-root process. */
function foreignDirectory(mode: number): DirectoryOps & { chmods: number } {
  const ops = {
    chmods: 0,
    mkdirSync: () => undefined,
    statSync: () => ({ mode: 0o40000 | mode, uid: 4242 }),
    chmodSync: () => {
      ops.chmods++;
      throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
    },
  };
  return ops;
}

describe('data directory permissions', () => {
  it('refuses a directory it cannot make private, naming it and the fix', () => {
    const ops = foreignDirectory(0o755);
    assert.throws(
      () => ensurePrivateDirectory('/srv/gatehouse/data', ops),
      (err: unknown) => {
        assert.ok(err instanceof DataDirectoryPermissionError);
        assert.match(
          err.message,
          /\/srv\/gatehouse\/data must be private \(mode 0700\).*EPERM.*owner uid 4242.*chmod 700/,
        );
        return true;
      },
    );
  });

  it('leaves a directory that is already 0700 alone', () => {
    const ops = foreignDirectory(0o700);
    ensurePrivateDirectory('/srv/gatehouse/data', ops);
    assert.equal(ops.chmods, 0);
  });
});
