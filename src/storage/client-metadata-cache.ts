/**
 * Client metadata read on every token request, kept briefly in memory. Writes through the admin
 * API on this instance invalidate at once; other instances see a change within `ttlMs`
 * (a bounded staleness, stated in docs/architecture.md). Misses are cached too, so a flood of
 * unknown client ids does not reach the database on every request.
 */
export class ClientMetadataCache {
  readonly #entries = new Map<string, { at: number; value: Record<string, unknown> | undefined }>();
  /** Bounds memory under a flood of random client ids. */
  static readonly MAX_ENTRIES = 10_000;

  constructor(private readonly ttlMs: number) {}

  async get(
    clientId: string,
    load: () => Promise<Record<string, unknown> | undefined>,
  ): Promise<Record<string, unknown> | undefined> {
    const hit = this.#entries.get(clientId);
    const now = Date.now();
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = await load();
    if (this.#entries.size >= ClientMetadataCache.MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(clientId, { at: now, value });
    return value;
  }

  invalidate(clientId: string): void {
    this.#entries.delete(clientId);
  }
}
