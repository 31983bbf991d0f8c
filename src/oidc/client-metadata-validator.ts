import type { ProviderRef } from './live-provider.js';
import { GatehouseError } from '../domain/errors.js';
import type { ClientMetadataValidator } from '../domain/clients/clients.js';
import type { ClientMetadata } from '../domain/clients/client-metadata.js';
import { toProviderClientMetadata } from '../domain/clients/provider-client-metadata.js';

/** oidc-provider's own client schema is the final word on a metadata set. */
export function providerClientValidator(providers: ProviderRef): ClientMetadataValidator {
  return {
    async validate(metadata: ClientMetadata) {
      try {
        await (providers.current.Client as unknown as { validate(m: unknown): Promise<void> }).validate(
          toProviderClientMetadata(metadata),
        );
      } catch (err) {
        const e = err as { error?: string; error_description?: string; message?: string };
        const code = e.error === 'invalid_redirect_uri' ? 'invalid_redirect_uri' : 'invalid_client_metadata';
        throw new GatehouseError(code, e.error_description ?? e.message ?? 'invalid client metadata', { cause: err });
      }
    },
  };
}
