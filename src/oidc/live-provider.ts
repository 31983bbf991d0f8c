import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { LoadedKeys } from '../domain/keys/signing-keys.js';

/** What request handlers hold instead of a Provider: the one to use for the request at hand. */
export interface ProviderRef {
  readonly current: Provider;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * oidc-provider reads its key set once, at construction. A key change therefore builds a new
 * Provider (same configuration, same shared storage, new keys) and swaps it in with one
 * assignment: each request runs start to finish on the provider that was current when it
 * arrived, and every request after the swap runs on the new one.
 */
export class LiveProvider implements ProviderRef {
  #provider: Provider;
  #listener: Listener;
  #keys: LoadedKeys;

  constructor(
    private readonly build: (keys: LoadedKeys) => Provider,
    keys: LoadedKeys,
  ) {
    this.#provider = build(keys);
    this.#listener = this.#provider.callback();
    this.#keys = keys;
  }

  get current(): Provider {
    return this.#provider;
  }

  /** The keys the current provider was built with. */
  get keys(): LoadedKeys {
    return this.#keys;
  }

  /** The current provider's request listener. */
  get listener(): Listener {
    return this.#listener;
  }

  /** Builds a provider for `keys` and makes it current; a build failure leaves the old one serving. */
  replace(keys: LoadedKeys): void {
    const provider = this.build(keys);
    const listener = provider.callback();
    this.#provider = provider;
    this.#listener = listener;
    this.#keys = keys;
  }
}
