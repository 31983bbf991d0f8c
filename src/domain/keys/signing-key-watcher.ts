import type { LoadedKeys } from './signing-keys.js';

/** Tells the other instances that the key table changed (Redis pub/sub); absent without Redis. */
export interface KeyChangeChannel {
  publish(): Promise<void>;
  /** Calls `onChange` for every notification, until the returned function is called. */
  subscribe(onChange: () => void): Promise<() => Promise<void>>;
}

export interface SigningKeyWatcherDeps {
  /** The keys as they should be served now, when they differ from `serving`; always the next transition time. */
  loadIfChanged(serving: string): Promise<{ keys?: LoadedKeys; nextTransitionAt?: Date }>;
  /** Serves `keys` from now on (rebuilds the provider). */
  apply(keys: LoadedKeys): void;
  /** The fingerprint being served. */
  serving(): string;
  pollSeconds: number;
  channel?: KeyChangeChannel;
  /** Runs on every tick before loading (scheduled rotation); errors are reported, not thrown. */
  beforeTick?: () => Promise<unknown>;
  onError(err: unknown): void;
  onApplied?(keys: LoadedKeys, previousFingerprint: string): void;
}

/**
 * Keeps this instance's provider on the key set the database says is current. A tick reloads
 * the keys and, when the published set or a key's state differs from what is served, applies
 * the new set. Ticks run every `pollSeconds`, at the moment of the next scheduled transition,
 * and at once on a change notification (from this instance's admin API or another's via Redis).
 */
export class SigningKeyWatcher {
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => Promise<void>;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: SigningKeyWatcherDeps) {}

  async start(nextTransitionAt?: Date): Promise<void> {
    if (this.deps.channel) {
      try {
        this.unsubscribe = await this.deps.channel.subscribe(() => { void this.refresh(); });
      } catch (err) {
        // Polling still picks changes up; the subscription is only the fast path.
        this.deps.onError(err);
      }
    }
    this.schedule(nextTransitionAt);
  }

  /** Reloads now; concurrent calls coalesce into one more reload after the running one. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.tick();
      } while (this.again && !this.stopped);
    })().finally(() => { this.running = undefined; });
    return this.running;
  }

  /** After a local change: apply it here at once, then tell the other instances. */
  async changed(): Promise<void> {
    await this.refresh();
    await this.deps.channel?.publish().catch((err) => this.deps.onError(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.unsubscribe?.().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    let next: Date | undefined;
    try {
      if (this.deps.beforeTick) await this.deps.beforeTick().catch((err) => this.deps.onError(err));
      const before = this.deps.serving();
      const { keys, nextTransitionAt } = await this.deps.loadIfChanged(before);
      next = nextTransitionAt;
      if (keys) {
        this.deps.apply(keys);
        this.deps.onApplied?.(keys, before);
      }
    } catch (err) {
      this.deps.onError(err);
    } finally {
      this.schedule(next);
    }
  }

  private schedule(nextTransitionAt?: Date): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let delay = this.deps.pollSeconds * 1000;
    // A few ms after the transition, so `now` is past it when the keys are evaluated.
    if (nextTransitionAt) delay = Math.max(0, Math.min(delay, nextTransitionAt.getTime() - Date.now() + 5));
    this.timer = setTimeout(() => { void this.refresh(); }, delay);
    this.timer.unref();
  }
}
