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
 * directory, says so (answer 0), then runs each statement posted to it, one at a time, in the order
 * received, and answers with PGlite's result or its error. After `close` it lets go of its port and
 * ends.
 *
 * Statements come from several sessions (knex's pooled connections, see session-client.ts) so that
 * the next one is already here when one ends; PGlite has one session of its own, so a session that
 * opened a transaction has it to itself until the transaction ends: the others' statements wait
 * (at most TRANSACTION_WAIT_MS, as knex waited for its one connection before) and run after it.
 */
if (!parentPort) throw new Error('pglite.worker runs as a worker thread');
const port = parentPort;
const { dataDir, extraStartParams } = workerData as PGliteWorkerData;
/** How long a statement waits for another session's transaction: knex's acquireConnectionTimeout. */
const TRANSACTION_WAIT_MS = 5000;

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
  /** Received, not yet run. */
  const queue: WorkerRequest[] = [];
  /** The session whose transaction is open: only its statements (and close) run meanwhile. */
  let owner: number | undefined;
  /** Statements waiting for another session's transaction, and when they give up. */
  const waiting = new Map<WorkerRequest, NodeJS.Timeout>();
  let pumping = false;

  const runnable = (r: WorkerRequest) => r.op === 'close' || owner === undefined || r.session === owner;

  /** Gives every statement held up by the open transaction its deadline. */
  const armWaits = () => {
    for (const r of queue) {
      if (runnable(r) || waiting.has(r)) continue;
      const timer = setTimeout(() => {
        waiting.delete(r);
        const i = queue.indexOf(r);
        if (i < 0) return;
        queue.splice(i, 1);
        // What knex said when its one connection stayed taken: classified as unavailable.
        post({
          id: r.id,
          error: {
            name: 'KnexTimeoutError',
            message: `Knex: Timeout acquiring a connection: a transaction held embedded PostgreSQL for ${TRANSACTION_WAIT_MS} ms`,
            fields: {},
          },
        });
      }, TRANSACTION_WAIT_MS);
      timer.unref();
      waiting.set(r, timer);
    }
  };

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const i = queue.findIndex(runnable);
        if (i < 0) break;
        const [request] = queue.splice(i, 1) as [WorkerRequest];
        clearTimeout(waiting.get(request));
        waiting.delete(request);
        await run(pglite, request);
        if (request.op === 'close') return;
        owner = pglite.isInTransaction() ? request.session : undefined;
        if (owner !== undefined) armWaits();
      }
    } finally {
      pumping = false;
    }
  };

  port.on('message', (request: WorkerRequest) => {
    queue.push(request);
    if (!runnable(request)) armWaits();
    void pump();
  });
  post({ id: 0, result: null });
}
