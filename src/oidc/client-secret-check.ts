import type { Provider } from 'oidc-provider';
import { clientSecretMatches } from '../domain/clients/client-secrets.js';

/**
 * Client secrets are stored only as SHA-256 hashes; the stock check compares plaintexts.
 * Replace it with a constant-time comparison of hashes.
 */
export function useHashedClientSecrets(provider: Provider): void {
  const proto = (provider.Client as unknown as { prototype: { compareClientSecret(actual: string): boolean; clientSecret?: string } }).prototype;
  proto.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return clientSecretMatches(this.clientSecret, actual);
  };
}
