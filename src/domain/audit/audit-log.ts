import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventInput, AuditEventType, StoredAuditEvent } from './audit-event.js';
import { cleanText, scrubAuditData } from './scrub.js';

/** The emitters' port: record() never waits for storage and never throws. */
export interface AuditLog {
  record(event: AuditEventInput): void;
}

/** Which events to list; every member narrows. */
export interface AuditFilter {
  type?: AuditEventType;
  subject?: string;
  clientId?: string;
  since?: Date;
  until?: Date;
}

/**
 * Events written together, held in storage's own row format from the moment they are recorded:
 * a queued event is a few bytes outside the JS heap, not an object graph that every garbage
 * collection must walk and copy while it waits for the next write.
 */
export interface AuditBatch {
  /**
   * Made when the batch is opened and kept across retries: a batch written again after a commit
   * that was never acknowledged is stored once.
   */
  readonly key: string;
  /** Events appended so far. */
  readonly count: number;
  append(event: AuditEvent): void;
}

/** Storage port for the audit log (storage/ implements it). */
export interface AuditEventRepository {
  /** A new, empty batch in this repository's format. */
  openBatch(key: string): AuditBatch;
  /**
   * Appends a batch this repository opened, with one statement; a batch whose key is already
   * stored is skipped whole.
   */
  insertBatch(batch: AuditBatch): Promise<void>;
  /**
   * One page of events matching `filter`: newest first (`desc`, ids below `after`) or oldest
   * first (`asc`, ids above `after`).
   */
  list(filter: AuditFilter, page: AuditPage): Promise<StoredAuditEvent[]>;
}

/** Page of a listing: newest first (`desc`) or oldest first (`asc`); `after` is the last id seen. */
export interface AuditPage {
  limit: number;
  after?: string;
  order: 'asc' | 'desc';
}

/** The admin side: record and read back. */
export interface AuditTrail extends AuditLog {
  list(filter: AuditFilter, page: AuditPage): Promise<StoredAuditEvent[]>;
}

/** The little of a logger the writer needs (pino's Logger satisfies it). */
export interface AuditErrorLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AuditWriterOptions {
  /** How often queued events are written. @default 200 ms */
  flushIntervalMs?: number;
  /** A batch this large is written at once, without waiting for the timer. @default 500 */
  batchSize?: number;
  /**
   * Most events held in memory while the database refuses writes; beyond it new events are
   * dropped (and counted in the error log) rather than exhausting memory. @default 50000
   */
  maxQueued?: number;
  /** Attempts close() makes to write what is left before giving up. @default 3 */
  closeAttempts?: number;
}

/** Bounds for request-derived text: enough for any real value, not a storage vector. */
export const MAX_ID_CHARS = 256;
const MAX_USER_AGENT_CHARS = 512;
/** Pause between close() attempts while the database is briefly unavailable. */
const CLOSE_RETRY_MS = 250;

/**
 * The audit log's writer. record() only appends the event to the open batch, in memory (the token
 * endpoint never waits for an audit write); a timer, or a batch reaching batchSize, closes the
 * batch and writes it with one statement. A failed write keeps its batch, as it was, for the next
 * attempt; events recorded meanwhile go to later batches. close() writes whatever is left.
 */
export class BufferedAuditLog implements AuditTrail {
  /** Taking events; closed (moved to #closedBatches) on the timer or when full. */
  #open?: AuditBatch;
  /** Waiting to be written, oldest first; the head is kept as it is until its write succeeds. */
  readonly #closedBatches: AuditBatch[] = [];
  readonly #options: Required<AuditWriterOptions>;
  #timer?: NodeJS.Timeout;
  #flushing?: Promise<void>;
  #closed = false;
  #dropped = 0;
  #failing = false;

  constructor(
    private readonly repo: AuditEventRepository,
    private readonly log: AuditErrorLog,
    options: AuditWriterOptions = {},
  ) {
    this.#options = { flushIntervalMs: 200, batchSize: 500, maxQueued: 50_000, closeAttempts: 3, ...options };
    this.#timer = setInterval(() => {
      this.#tick();
    }, this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  /** Events waiting to be written. */
  get pending(): number {
    // A handful of closed batches at most while writes succeed; maxQueued / batchSize during an outage.
    let events = this.#open?.count ?? 0;
    for (const batch of this.#closedBatches) events += batch.count;
    return events;
  }

  record(input: AuditEventInput): void {
    if (this.#closed) {
      this.log.warn({ event: input.type }, 'audit event recorded after close; dropped');
      return;
    }
    if (this.pending >= this.#options.maxQueued) {
      this.#dropped++;
      return;
    }
    this.#open ??= this.repo.openBatch(randomUUID());
    const batch = this.#open;
    batch.append(normalize(input));
    if (batch.count >= this.#options.batchSize) void this.flush();
  }

  /** Lists stored events; what this instance has queued is written first, so an admin reads their own changes. */
  async list(filter: AuditFilter, page: AuditPage): Promise<StoredAuditEvent[]> {
    if (this.pending) await this.flush();
    return this.repo.list(filter, page);
  }

  /**
   * Writes everything recorded before the call, batch by batch; resolves when done or a write
   * failed. Events recorded while it writes wait for the next tick (or a full batch): under load
   * the writes stay one per interval, not one per few events.
   */
  flush(): Promise<void> {
    this.#closeOpenBatch();
    return this.#startDrain();
  }

  /**
   * The timer: closes the open batch only when no other batch is waiting. While writes fail (or
   * one is slow), the open batch keeps filling up to batchSize instead of a new, mostly empty
   * batch (and buffer) being closed on every tick of a long outage.
   */
  #tick(): void {
    if (!this.#closedBatches.length) this.#closeOpenBatch();
    void this.#startDrain();
  }

  #startDrain(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  #closeOpenBatch(): void {
    if (!this.#open) return;
    this.#closedBatches.push(this.#open);
    this.#open = undefined;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const batch = this.#closedBatches[0];
      if (!batch) return;
      try {
        await this.repo.insertBatch(batch);
      } catch (err) {
        // Keep the batch as it is; the next tick writes it again (stored once if this commit held).
        if (!this.#failing)
          this.log.error({ err, queued: this.pending }, 'audit log write failed; events kept for retry');
        this.#failing = true;
        this.#reportDropped();
        return;
      }
      this.#closedBatches.shift();
      if (this.#failing) this.log.warn({ queued: this.pending }, 'audit log writes recovered');
      this.#failing = false;
      this.#reportDropped();
    }
  }

  #reportDropped(): void {
    if (!this.#dropped) return;
    this.log.error(
      { dropped: this.#dropped, maxQueued: this.#options.maxQueued },
      'audit events dropped: queue full while writes failed',
    );
    this.#dropped = 0;
  }

  /** Stops the timer and writes everything queued; call before the database closes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (let attempt = 1; attempt <= this.#options.closeAttempts; attempt++) {
      await this.#flushing;
      await this.flush();
      if (!this.pending) return;
      if (attempt < this.#options.closeAttempts) await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_MS));
    }
    this.log.error({ lost: this.pending }, 'audit events could not be written before shutdown');
  }
}

function optionalText(value: string | undefined, max: number): string | undefined {
  return value === undefined || value === '' ? undefined : cleanText(value, max);
}

function normalize(input: AuditEventInput): AuditEvent {
  return {
    type: input.type,
    actor: cleanText(input.actor, MAX_ID_CHARS) as AuditEvent['actor'],
    subject: optionalText(input.subject, MAX_ID_CHARS),
    clientId: optionalText(input.clientId, MAX_ID_CHARS),
    ip: optionalText(input.ip, MAX_ID_CHARS),
    userAgent: optionalText(input.userAgent, MAX_USER_AGENT_CHARS),
    requestId: optionalText(input.requestId, MAX_ID_CHARS),
    data: (input.data ? scrubAuditData(input.data) : {}) as Record<string, unknown>,
    occurredAt: new Date(),
  };
}
