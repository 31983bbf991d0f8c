/**
 * Reads issued in the same tick under one group key, answered by one round trip. oidc-provider
 * looks an introspected or revoked token up under two or three models at once
 * (`Promise.all([AccessToken.find(t), ClientCredentials.find(t)])`): the same stored id, so the
 * same Redis hash tag or the same SQL key. Grouped here, that is one MGET or one SELECT instead of
 * one per model. A group of one is read exactly as before.
 *
 * The group is flushed on process.nextTick: after the current synchronous code and the promise
 * jobs it queued, so lookups started together (Promise.all) meet, and no later than that.
 */
export class SameTickReads<Result> {
  readonly #pending = new Map<string, Pending<Result>[]>();
  #scheduled = false;

  /**
   * @param readGroup reads every item of one group in one round trip and answers in their order.
   */
  constructor(private readonly readGroup: (group: string, items: string[]) => Promise<Result[]>) {}

  /** The answer for `item`, read together with the other items of `group` asked for in this tick. */
  read(group: string, item: string): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const waiting = this.#pending.get(group);
      if (waiting) waiting.push({ item, resolve, reject });
      else this.#pending.set(group, [{ item, resolve, reject }]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const groups = [...this.#pending];
    this.#pending.clear();
    for (const [group, waiting] of groups) {
      let reading: Promise<Result[]>;
      try {
        reading = this.readGroup(
          group,
          waiting.map((w) => w.item),
        );
      } catch (err) {
        reading = Promise.reject(err);
      }
      reading.then(
        (results) => {
          for (let i = 0; i < waiting.length; i++) waiting[i]!.resolve(results[i]!);
        },
        (err: unknown) => {
          for (const w of waiting) w.reject(err);
        },
      );
    }
  }
}

interface Pending<Result> {
  item: string;
  resolve(result: Result): void;
  reject(err: unknown): void;
}
