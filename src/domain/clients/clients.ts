import { GatehouseError, notFound } from '../errors.js';
import type { ClientMetadata, ClientMetadataInput } from './client-metadata.js';
import { generateClientId, generateClientSecret, hashClientSecret } from './client-secrets.js';

/** Storage port for registered clients. */
export interface ClientRepository {
  insert(metadata: ClientMetadata): Promise<void>;
  find(clientId: string): Promise<ClientMetadata | undefined>;
  list(options: { limit: number; after?: string }): Promise<ClientMetadata[]>;
  replace(clientId: string, metadata: ClientMetadata): Promise<boolean>;
  delete(clientId: string): Promise<boolean>;
}

/** Port: the protocol's own check of a metadata set (oidc-provider's client schema). */
export interface ClientMetadataValidator {
  validate(metadata: ClientMetadata): Promise<void>;
}

/** Port: ends every grant and token of a client that is being deleted. */
export interface ClientTokenRevoker {
  revokeAllForClient(clientId: string): Promise<void>;
}

export type PublicClient = Omit<ClientMetadata, 'client_secret'>;

function withDefaults(input: ClientMetadataInput): ClientMetadataInput {
  const grantTypes = input.grant_types ?? ['authorization_code'];
  const usesRedirects = grantTypes.includes('authorization_code');
  return {
    ...input,
    grant_types: grantTypes,
    response_types: usesRedirects ? ['code'] : [],
    redirect_uris: input.redirect_uris ?? [],
    token_endpoint_auth_method: input.token_endpoint_auth_method ?? 'client_secret_basic',
  };
}

function check(metadata: ClientMetadataInput): void {
  const grants = metadata.grant_types ?? [];
  if (grants.includes('authorization_code') && !(metadata.redirect_uris?.length)) {
    throw new GatehouseError('invalid_redirect_uri', 'redirect_uris is required for the authorization_code grant');
  }
  if (grants.includes('client_credentials') && metadata.token_endpoint_auth_method === 'none') {
    throw new GatehouseError('invalid_client_metadata', 'client_credentials requires an authenticated client (not token_endpoint_auth_method none)');
  }
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    throw new GatehouseError('invalid_client_metadata', 'refresh_token requires the authorization_code grant');
  }
}

const needsSecret = (m: ClientMetadataInput) => m.token_endpoint_auth_method === 'client_secret_basic' || m.token_endpoint_auth_method === 'client_secret_post';

export function publicClient(metadata: ClientMetadata): PublicClient {
  const { client_secret: _secret, ...rest } = metadata;
  return rest;
}

/** Client registration by admins. The secret is returned once, at creation, and stored only hashed. */
export class Clients {
  constructor(
    private readonly repo: ClientRepository,
    private readonly validator: ClientMetadataValidator,
    private readonly revoker: ClientTokenRevoker,
  ) {}

  async create(input: ClientMetadataInput): Promise<{ client: PublicClient; clientSecret?: string }> {
    const base = withDefaults(input);
    check(base);
    const clientSecret = needsSecret(base) ? generateClientSecret() : undefined;
    const metadata: ClientMetadata = {
      ...base,
      client_id: generateClientId(),
      client_id_issued_at: Math.floor(Date.now() / 1000),
      ...(clientSecret ? { client_secret: hashClientSecret(clientSecret) } : {}),
    };
    await this.validator.validate(metadata);
    await this.repo.insert(metadata);
    return { client: publicClient(metadata), clientSecret };
  }

  async get(clientId: string): Promise<PublicClient> {
    const found = await this.repo.find(clientId);
    if (!found) throw notFound('client');
    return publicClient(found);
  }

  async list(options: { limit: number; after?: string }): Promise<PublicClient[]> {
    return (await this.repo.list(options)).map(publicClient);
  }

  async update(clientId: string, changes: ClientMetadataInput): Promise<{ client: PublicClient; clientSecret?: string }> {
    const current = await this.repo.find(clientId);
    if (!current) throw notFound('client');
    const { client_id, client_id_issued_at, client_secret, ...currentInput } = current;
    const merged = withDefaults({ ...currentInput, ...changes });
    check(merged);
    let newSecret: string | undefined;
    let secretHash = needsSecret(merged) ? client_secret : undefined;
    if (needsSecret(merged) && !secretHash) {
      newSecret = generateClientSecret();
      secretHash = hashClientSecret(newSecret);
    }
    const metadata: ClientMetadata = { ...merged, client_id, client_id_issued_at, ...(secretHash ? { client_secret: secretHash } : {}) };
    await this.validator.validate(metadata);
    await this.repo.replace(clientId, metadata);
    return { client: publicClient(metadata), clientSecret: newSecret };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.repo.find(clientId))) throw notFound('client');
    await this.revoker.revokeAllForClient(clientId);
    await this.repo.delete(clientId);
  }
}
