import type { Provider } from 'oidc-provider';
import { clientSecretMatchesAny } from '../domain/clients/client-secrets.js';
import type { PreviousClientSecret } from '../domain/clients/client-metadata.js';

/**
 * Client secrets are stored only as SHA-256 hashes; the stock check compares plaintexts.
 * Replace it with a constant-time comparison against the current hash and, during a rotation's
 * overlap window, the previous ones (`client_secrets_previous`, each with its own expiry; the
 * clock is read on every check, so the metadata cache cannot stretch a window).
 */
export function useHashedClientSecrets(provider: Provider): void {
  type ClientWithSecrets = { clientSecret?: string; client_secrets_previous?: PreviousClientSecret[] };
  const proto = (
    provider.Client as unknown as { prototype: { compareClientSecret(actual: string): boolean } & ClientWithSecrets }
  ).prototype;
  proto.compareClientSecret = function compareClientSecret(this: ClientWithSecrets, actual: string) {
    return clientSecretMatchesAny(
      this.clientSecret,
      this.client_secrets_previous,
      actual,
      Math.floor(Date.now() / 1000),
    );
  };
}
