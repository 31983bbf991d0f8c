import type {
  SamlAssertion,
  SamlConnection,
  SamlEndpoints,
  SamlServiceProvider,
  SamlSpKeys,
} from '../domain/federation/saml.js';
import { peekInResponseTo } from './saml-raw-response.js';
import type { SamlifyServiceProvider, SamlServiceProviderOptions } from './saml-service-provider.js';

/**
 * The SAML service provider, loaded on first use. samlify, its XML and signature libraries, the
 * xmllint schema validator and the certificate code take ~150 ms and ~15 MiB to load; a server
 * without SAML connections never needs them. The first SAML request (a connection created, SP
 * metadata, a sign-in) loads them once; every later call goes straight to the loaded provider.
 */
export class LazySamlServiceProvider implements SamlServiceProvider {
  #loaded: Promise<SamlifyServiceProvider> | undefined;

  constructor(private readonly options: SamlServiceProviderOptions = {}) {}

  #provider(): Promise<SamlifyServiceProvider> {
    this.#loaded ??= import('./saml-service-provider.js').then((m) => new m.SamlifyServiceProvider(this.options));
    // A failed load (a broken install) is tried again on the next call rather than remembered.
    this.#loaded.catch(() => {
      this.#loaded = undefined;
    });
    return this.#loaded;
  }

  async generateKeys(commonName: string): Promise<SamlSpKeys> {
    return (await this.#provider()).generateKeys(commonName);
  }

  async checkIdpMetadata(xml: string): Promise<string | undefined> {
    return (await this.#provider()).checkIdpMetadata(xml);
  }

  peekInResponseTo(samlResponse: string): string | undefined {
    return peekInResponseTo(samlResponse);
  }

  async metadata(connection: SamlConnection, keys: SamlSpKeys, endpoints: SamlEndpoints): Promise<string> {
    return (await this.#provider()).metadata(connection, keys, endpoints);
  }

  async loginRequest(
    connection: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    relayState: string,
  ): Promise<{ url: string; requestId: string }> {
    return (await this.#provider()).loginRequest(connection, keys, endpoints, relayState);
  }

  async readResponse(
    connection: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    samlResponse: string,
  ): Promise<SamlAssertion> {
    return (await this.#provider()).readResponse(connection, keys, endpoints, samlResponse);
  }
}
