import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import {
  type PGliteWorkerData,
  serializeError,
  type WorkerAnswer,
  type WorkerRequest,
} from './pglite-worker-connection.js';

/**
 * The thread that owns embedded PostgreSQL (see PGliteWorkerConnection): opens PGlite on the data
 * directory, says so (answer 0), then runs each statement posted to it, in order, one at a time,
 * and answers with PGlite's result or its error. After `close` it lets go of its port and ends.
 */
if (!parentPort) throw new Error('pglite.worker runs as a worker thread');
const port = parentPort;
const { dataDir, extraStartParams } = workerData as PGliteWorkerData;

const post = (answer: WorkerAnswer): void => {
  try {
    port.postMessage(answer);
  } catch (err) {
    // A result that cannot be cloned: the statement ran, its answer is this error.
    port.postMessage({ id: answer.id, error: serializeError(err) });
  }
};

/** PGlite on the directory; undefined (the reason posted, the port let go: the thread ends) if it cannot open. */
async function open(): Promise<PGlite | undefined> {
  try {
    return await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, ...extraStartParams] });
  } catch (err) {
    const error = serializeError(err);
    post({ id: 0, error: { ...error, message: `PGlite could not open ${dataDir}: ${error.message}` } });
    port.close();
    return undefined;
  }
}

async function run(pglite: PGlite, request: WorkerRequest): Promise<void> {
  try {
    if (request.op === 'close') {
      await pglite.close();
      post({ id: request.id, result: null });
      port.close();
      return;
    }
    const result = await pglite.query(request.sql, request.params, request.options);
    post({ id: request.id, result });
  } catch (err) {
    post({ id: request.id, error: serializeError(err) });
  }
}

const pglite = await open();
if (pglite) {
  let queue = Promise.resolve();
  port.on('message', (request: WorkerRequest) => {
    queue = queue.then(() => run(pglite, request));
  });
  post({ id: 0, result: null });
}
