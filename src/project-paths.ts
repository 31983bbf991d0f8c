import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the checkout's files are, the same under tsx (this file is src/project-paths.ts) and built
 * (dist/src/project-paths.js, from scripts/build.mjs): the project root is the nearest folder
 * upwards that holds package.json. Views, assets and password lists are read from the checkout;
 * code loaded by path (migrations) from dist/ when this process runs built code.
 * A leaf: imports nothing of ours, so every layer may use it.
 */
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`gatehouse: no package.json above ${from}`);
  }
}

const HERE = fileURLToPath(import.meta.url);

export const PROJECT_ROOT = findProjectRoot(path.dirname(HERE));

/** True when this process runs the JavaScript that scripts/build.mjs wrote to dist/ (not tsx). */
export const RUNNING_BUILT = HERE.endsWith('.js');

/** A file or folder of the checkout, e.g. projectPath('views'). */
export function projectPath(...segments: string[]): string {
  return path.join(PROJECT_ROOT, ...segments);
}

/** A folder of TypeScript loaded by path at run time: its compiled copy under dist/ when running built. */
export function codePath(...segments: string[]): string {
  return RUNNING_BUILT ? path.join(PROJECT_ROOT, 'dist', ...segments) : path.join(PROJECT_ROOT, ...segments);
}
