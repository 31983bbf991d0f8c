import type { DomainEvents } from '../domain/events/domain-events.js';
import type { OutboxMessage, OutboxRepository } from '../domain/mail/mail.js';
import { DEFAULT_RETRY_POLICY, isExpired, nextAttemptAt, type RetryPolicy } from './outbox-retry.js';
import type { MailTransport } from './smtp-transport.js';

export interface OutboxWorkerOptions {
  /** How often the outbox is read when idle (a send queued on this instance wakes it at once). @default 2000 */
  pollIntervalMs: number;
  /** Messages claimed (and sent concurrently) per round. @default 10 */
  batchSize: number;
  /**
   * How long a claim holds a message: another instance takes it over only after this, so it must
   * exceed the longest send (the SMTP timeouts bound one step at 30 s). A worker that crashed
   * mid-send leaves its messages to be sent again after the lease (at least once). @default 120
   */
  leaseSeconds: number;
  /** Backoff between attempts and when to give up. */
  retry: RetryPolicy;
  /** How long stop() waits for sends in flight before abandoning them to their lease. @default 5000 */
  stopGraceMs: number;
  /** Epoch ms; tests move it. @default Date.now */
  now: () => number;
  /** [0, 1) for the backoff jitter. @default Math.random */
  random: () => number;
}

export const DEFAULT_OUTBOX_WORKER_OPTIONS: OutboxWorkerOptions = {
  pollIntervalMs: 2_000,
  batchSize: 10,
  leaseSeconds: 120,
  retry: DEFAULT_RETRY_POLICY,
  stopGraceMs: 5_000,
  now: Date.now,
  random: Math.random,
};

interface WorkerLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Errors are stored and logged; SMTP answers can be long and may echo the address, never a secret. */
const MAX_ERROR_CHARS = 300;

/**
 * Sends the outbox: claims due messages (a lease, SKIP LOCKED: two instances never hold one
 * message at once), sends each through the transport, marks it `sent`, or schedules a retry with
 * backoff, giving up (`failed`) only when the message is too old to matter. Emits `mail.sent` and
 * `mail.failed`. Delivery is at least once: a crash between the server's accept and `markSent`
 * sends that message again after its lease.
 */
export class OutboxWorker {
  readonly #options: OutboxWorkerOptions;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wakeUp: (() => void) | undefined;
  #wakeRequested = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly transport: MailTransport,
    private readonly events: DomainEvents,
    private readonly log: WorkerLog,
    options: Partial<OutboxWorkerOptions> = {},
  ) {
    this.#options = { ...DEFAULT_OUTBOX_WORKER_OPTIONS, ...options };
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Look at the outbox now (a message was just queued); the poll finds it anyway if this is missed. */
  wake(): void {
    this.#wakeRequested = true;
    this.#wakeUp?.();
  }

  /**
   * Stops claiming; waits up to `stopGraceMs` for sends in flight, then closes the transport (the
   * sends fail and are rescheduled while the database is still open). Whatever is still unsettled
   * is abandoned to its lease and claimed again by the next worker.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp?.();
    const running = this.#running;
    if (running && !(await settlesWithin(running, this.#options.stopGraceMs))) {
      this.transport.close();
      await settlesWithin(running, 1_000);
    }
    this.transport.close();
  }

  /** One round: claim, send, record. Returns how many messages were claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.outbox.claimDue(this.#options.batchSize, this.#options.leaseSeconds);
    await Promise.all(claimed.map((m) => this.#deliver(m)));
    return claimed.length;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      this.#wakeRequested = false;
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (err) {
        this.log.warn({ err: { message: (err as Error).message } }, 'outbox: reading due mail failed; retrying');
      }
      // A full batch means more may be due: go on at once.
      if (claimed < this.#options.batchSize && !this.#wakeRequested && !this.#stopping) await this.#sleep();
    }
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      // unref: an idle worker never holds the process open on its own.
      const timer = setTimeout(done, this.#options.pollIntervalMs).unref();
      this.#wakeUp = done;
    });
  }

  async #deliver(m: OutboxMessage): Promise<void> {
    const now = this.#options.now();
    if (isExpired(m, this.#options.retry, now)) {
      await this.#fail(m, 'not delivered in time; given up without sending', undefined);
      return;
    }
    // Bodies are emptied once sent or given up: a row put back in the queue by hand has nothing to send.
    if (!m.text && !m.html) {
      await this.#fail(m, 'no body (emptied after an earlier send); not sent', undefined);
      return;
    }
    try {
      await this.transport.send({ id: m.id, to: m.to, subject: m.subject, text: m.text, html: m.html });
    } catch (err) {
      const retryAt = nextAttemptAt(m, this.#options.retry, this.#options.now(), this.#options.random);
      await this.#fail(m, describe(err), retryAt);
      return;
    }
    try {
      await this.outbox.markSent(m.id);
    } catch (err) {
      // Sent but not recorded: the lease runs out and the message goes once more (at least once).
      this.log.warn(
        { messageId: m.id, err: { message: (err as Error).message } },
        'outbox: a sent message could not be marked sent; it may be sent again after its lease',
      );
      return;
    }
    this.events.emit({ type: 'mail.sent', messageId: m.id, attempts: m.attempts });
  }

  async #fail(m: OutboxMessage, error: string, retryAt: Date | undefined): Promise<void> {
    try {
      await this.outbox.markFailed(m.id, error, retryAt);
    } catch (err) {
      // Not recorded: the lease runs out and the next worker tries again.
      this.log.warn(
        { messageId: m.id, err: { message: (err as Error).message } },
        'outbox: recording a failure failed',
      );
    }
    this.events.emit({
      type: 'mail.failed',
      messageId: m.id,
      attempts: m.attempts,
      error,
      ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
    });
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const text = [e.code, e.responseCode, e.message].filter((v) => v !== undefined && v !== '').join(' ');
  return (text || String(err)).slice(0, MAX_ERROR_CHARS);
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = p.then(
    () => true,
    () => true,
  );
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}
