import type { Worker } from 'node:worker_threads';
import type { QueryOptions, Results } from '@electric-sql/pglite';
import { startWorker } from './worker-entry.js';

/**
 * Embedded PostgreSQL (PGlite) on a worker thread: the thread owns the WASM instance and runs every
 * statement; this thread only posts the statement and receives its rows, so its event loop is free
 * for protocol work meanwhile. This object is what knex-pglite is handed as `connection.pglite`: it
 * has the part of PGlite's API that knex-pglite and the audit log's COPY use (`waitReady`, `query`,
 * `close`). Nothing of PGlite (nor its WASM) is loaded on this thread by this module: types only.
 */

/** What the worker is started with (workerData). */
export interface PGliteWorkerData {
  /** PGlite's data directory. */
  dataDir: string;
  /** Appended to PGlite.defaultStartParams. */
  extraStartParams: string[];
}

/** The options that cross the thread boundary (functions such as parsers cannot). */
export type WorkerQueryOptions = Pick<QueryOptions, 'rowMode' | 'paramTypes' | 'blob'>;

/**
 * This thread → the worker. Run one at a time in the order received, except that while a session
 * has a transaction open the other sessions' statements wait for it to end.
 */
export type WorkerRequest =
  | { id: number; op: 'query'; session: number; sql: string; params?: unknown[]; options?: WorkerQueryOptions }
  | { id: number; op: 'close' };

/** The worker → this thread: the answer to request `id`; id 0 is the start-up's (PGlite ready, or why not). */
export type WorkerAnswer = { id: number; result: unknown } | { id: number; error: SerializedError };

/** An error as it crosses the boundary: structured clone would keep only name and message, not `code`. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own properties with primitive values: PGlite's DatabaseError fields (code, detail, constraint, …). */
  fields: Record<string, string | number | boolean | null>;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

const READY_ID = 0;
/** What a closed or dead worker answers: storage-errors.ts classifies this message as unavailable. */
const CLOSED_MESSAGE = 'PGlite is closed';
/** How long close() waits for the thread to end once PGlite has closed, before terminating it. */
const EXIT_WAIT_MS = 5000;

/** The error a worker sent, rebuilt with its name, message and fields (classifyStorageError reads `code`). */
export function rebuildError(e: SerializedError): Error {
  const err = new Error(e.message);
  Object.defineProperty(err, 'name', { value: e.name, writable: true, configurable: true, enumerable: false });
  Object.assign(err, e.fields);
  if (e.stack) err.stack = e.stack; // where it was thrown, in the worker
  return err;
}

/**
 * Any thrown value as it crosses the boundary (used by the worker). Emscripten's file system throws
 * plain objects ({ name: 'ErrnoError', errno }): they get a message from their name and errno.
 */
export function serializeError(caught: unknown): SerializedError {
  if (!caught || typeof caught !== 'object') return { name: 'Error', message: String(caught), fields: {} };
  const fields: SerializedError['fields'] = {};
  for (const [k, v] of Object.entries(caught)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v as string | number | boolean;
  }
  const { name, message, stack } = caught as { name?: unknown; message?: unknown; stack?: unknown };
  const errorName = typeof name === 'string' ? name : 'Error';
  return {
    name: errorName,
    message:
      typeof message === 'string'
        ? message
        : `${errorName}${typeof fields.errno === 'number' ? ` (errno ${fields.errno})` : ''}`,
    stack: typeof stack === 'string' ? stack : undefined,
    fields,
  };
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A thread that ends unasked is started again at most this many times within RESTART_WINDOW_MS. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

/** Starts the PGlite thread beside this module (the built `.js`, or the `.ts` under tsx). */
export function startPGliteWorker(data: PGliteWorkerData): Worker {
  return startWorker(import.meta.url, 'pglite', { workerData: data });
}

export interface PGliteWorkerEvents {
  /**
   * The thread ended unasked (it crashed, or PGlite aborted); the statements out with it failed as
   * unavailable. `restarting`: a new thread is opening PGlite on the same directory and later
   * statements wait for it; otherwise (it kept ending, or cannot open) every statement now fails.
   */
  onFailure?: (err: Error, restarting: boolean) => void;
  /** A thread started after a failure has PGlite open: statements run again. */
  onRestarted?: () => void;
  /** Starts the thread (tests keep a handle to it). @default startPGliteWorker */
  start?: (data: PGliteWorkerData) => Worker;
}

export class PGliteWorkerConnection {
  /** Settles when PGlite has opened its directory (or failed to); knex-pglite awaits it. */
  readonly waitReady: Promise<void>;
  #worker!: Worker;
  #exited!: Promise<void>;
  readonly #pending = new Map<number, Pending>();
  readonly #data: PGliteWorkerData;
  readonly #events: PGliteWorkerEvents;
  #nextId = READY_ID + 1;
  #nextSession = 1;
  /** The current thread has PGlite open: from then on, the thread ending unasked is a failure. */
  #ready = false;
  /** Set once no more statements are taken: why (closed, or the thread died for good). */
  #ended: Error | undefined;
  #closing: Promise<void> | undefined;
  /** While a new thread opens PGlite after a failure: statements wait for it. Never rejects. */
  #restarting: Promise<void> | undefined;
  /** When the thread was started again after failures (within RESTART_WINDOW_MS). */
  #restarts: number[] = [];

  /**
   * Starts the worker; `waitReady` settles when PGlite is open. If the thread later ends unasked,
   * the statements out with it fail as unavailable (whether they committed is unknown, as with a
   * dropped PostgreSQL connection), and a new thread opens PGlite on the same directory (its WAL
   * replays what was committed); later statements wait for it. A thread that keeps ending
   * (MAX_RESTARTS within RESTART_WINDOW_MS) or cannot open PGlite is not started again: every
   * statement then fails as unavailable until Gatehouse restarts.
   */
  constructor(data: PGliteWorkerData, events: PGliteWorkerEvents = {}) {
    this.#data = data;
    this.#events = events;
    this.waitReady = this.#launch();
  }

  /** Starts a thread as the current one; settles when it has PGlite open (or failed to). */
  #launch(): Promise<void> {
    const worker = (this.#events.start ?? startPGliteWorker)(this.#data);
    this.#worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      this.#pending.set(READY_ID, { resolve: () => resolve(), reject });
    });
    worker.on('message', (answer: WorkerAnswer) => {
      if (this.#worker === worker) this.#answer(answer);
    });
    // An uncaught exception in the worker: the thread ends with it ('exit' follows).
    let crash: Error | undefined;
    worker.on('error', (err) => {
      crash = err;
    });
    this.#exited = new Promise((resolve) => {
      worker.on('exit', (code) => {
        if (this.#worker === worker) this.#threadEnded(code, crash);
        resolve();
      });
    });
    return ready;
  }

  #threadEnded(code: number, crash: Error | undefined): void {
    const reason = new Error(CLOSED_MESSAGE, {
      cause: crash ?? new Error(`the PGlite worker thread exited (code ${code})`),
    });
    // Start-up failures are answered with their own error (id 0) before the thread ends.
    const starting = this.#pending.get(READY_ID);
    if (starting) {
      this.#pending.delete(READY_ID);
      starting.reject(crash ?? reason);
    }
    if (this.#closing || !this.#ready) {
      this.#end(reason);
      return;
    }
    this.#ready = false;
    this.#failPending(reason);
    const now = Date.now();
    this.#restarts = this.#restarts.filter((at) => now - at < RESTART_WINDOW_MS);
    if (this.#restarts.length >= MAX_RESTARTS) {
      this.#end(reason);
      this.#events.onFailure?.(reason, false);
      return;
    }
    this.#restarts.push(now);
    this.#events.onFailure?.(reason, true);
    // On a later turn: a thread that cannot even be started fails the restart, not this handler.
    this.#restarting = Promise.resolve()
      .then(() => this.#launch())
      .then(
        () => {
          this.#restarting = undefined;
          this.#events.onRestarted?.();
        },
        (err: Error) => {
          this.#restarting = undefined;
          this.#end(new Error(CLOSED_MESSAGE, { cause: err }));
          this.#events.onFailure?.(err, false);
        },
      );
  }

  /**
   * A session: a connection of its own for knex's pool (session-client.ts). Its statements queue in
   * the worker beside the others', and a transaction it opens holds the others' until it ends.
   */
  session(): PGliteSession {
    return new PGliteSession(this, this.#nextSession++);
  }

  /** Runs one statement in the worker (PGlite's `query`) in session 0: rows, fields and affectedRows come back. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.queryIn(0, sql, params, options);
  }

  /** `query` in a given session (see `session()`). */
  queryIn<T = Record<string, unknown>>(
    session: number,
    sql: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<Results<T>> {
    if (this.#restarting) return this.#restarting.then(() => this.queryIn<T>(session, sql, params, options));
    if (this.#ended) return Promise.reject(new Error(this.#ended.message, { cause: this.#ended.cause }));
    let crossing: WorkerQueryOptions | undefined;
    try {
      crossing = crossable(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send({ op: 'query', session, sql, params, options: crossing }) as Promise<Results<T>>;
  }

  /** Closes PGlite (its data on disk complete for the next start) and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#restarting;
      if (!this.#ended) {
        try {
          await this.#send({ op: 'close' });
        } finally {
          this.#end(new Error(CLOSED_MESSAGE));
        }
      }
      const worker = this.#worker;
      const timer = setTimeout(() => void worker.terminate(), EXIT_WAIT_MS);
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#closing;
  }

  #send(request: WithoutId<WorkerRequest>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ ...request, id } as WorkerRequest);
      } catch (err) {
        // A parameter that cannot be cloned (a function, a symbol): nothing was sent.
        return reject(err);
      }
      // While a statement is out the thread keeps the process alive; idle, it does not (as PGlite
      // on this thread did not), so a process that never closes the database still exits.
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
    });
  }

  #answer(answer: WorkerAnswer): void {
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    if (answer.id === READY_ID && !('error' in answer)) this.#ready = true;
    if ('error' in answer) pending.reject(rebuildError(answer.error));
    else pending.resolve(answer.result);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  /** The statements out fail with `reason`. */
  #failPending(reason: Error): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new Error(reason.message, { cause: reason.cause }));
    }
  }

  /** No more statements: those still out fail with `reason`, as will any later one. */
  #end(reason: Error): void {
    this.#ended ??= reason;
    this.#failPending(reason);
  }
}

/** One of the worker connection's sessions: what knex's pool holds as a connection. */
export class PGliteSession {
  constructor(
    readonly connection: PGliteWorkerConnection,
    readonly id: number,
  ) {}

  get waitReady(): Promise<void> {
    return this.connection.waitReady;
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.connection.queryIn(this.id, sql, params, options);
  }
}

/** The options a statement may carry across: a blob (COPY … FROM '/dev/blob') clones; functions cannot. */
function crossable(options: QueryOptions | undefined): WorkerQueryOptions | undefined {
  if (!options) return undefined;
  const { rowMode, paramTypes, blob, ...rest } = options;
  const unsupported = Object.entries(rest).filter(([, v]) => v !== undefined);
  if (unsupported.length)
    throw new TypeError(
      `PGlite query options ${unsupported.map(([k]) => k).join(', ')} cannot cross to the worker thread`,
    );
  if (rowMode === undefined && paramTypes === undefined && blob === undefined) return undefined;
  return { rowMode, paramTypes, blob };
}
