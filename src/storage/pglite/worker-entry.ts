import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker thread `<name>.worker` that lives beside the calling module: its `.js` when
 * there is one (a compiled build), else its `.ts` (run from source under `node --import tsx`).
 * A worker inherits `--import tsx`, but on Node 20 tsx registers its loader on the main thread
 * only, so the `.ts` is loaded through tsx's API (tsImport) by a one-line bootstrap.
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions): Worker {
  const built = new URL(`./${name}.worker.js`, callerUrl);
  if (existsSync(fileURLToPath(built))) return new Worker(built, options);
  const source = new URL(`./${name}.worker.ts`, callerUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}
