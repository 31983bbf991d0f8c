import { conflict, GatehouseError, notFound } from '../errors.js';
import type { ClientMetadata, ClientMetadataInput, PreviousClientSecret } from './client-metadata.js';
import { checkRedirectUris, type RedirectUriPolicy } from './redirect-uri-policy.js';
import { checkRegisteredScope } from './registered-scope-policy.js';
import { generateClientId, generateClientSecret, hashClientSecret } from './client-secrets.js';

/** Storage port for registered clients. */
export interface ClientRepository {
  insert(metadata: ClientMetadata): Promise<void>;
  find(clientId: string): Promise<ClientMetadata | undefined>;
  list(options: { limit: number; after?: string }): Promise<ClientMetadata[]>;
  /**
   * Replaces a client's metadata. With `ifSecretHash`, only while the stored secret hash is still
   * that one (`undefined`: still none), so a concurrent rotation is never silently overwritten.
   */
  replace(clientId: string, metadata: ClientMetadata, options?: { ifSecretHash: string | undefined }): Promise<boolean>;
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

export type PublicClient = Omit<ClientMetadata, 'client_secret' | 'client_secrets_previous'>;

/** Default overlap of a secret rotation: a day to roll the new secret out. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 86_400;
/** Longest overlap: a week; an old secret should not outlive a normal deployment cycle. */
export const MAX_SECRET_OVERLAP_SECONDS = 604_800;
/** Bounds the metadata row; a rotation beyond this many open windows ends the oldest early. */
const MAX_PREVIOUS_SECRETS = 5;

const epochSeconds = () => Math.floor(Date.now() / 1000);

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
  if (grants.includes('authorization_code') && !metadata.redirect_uris?.length) {
    throw new GatehouseError('invalid_redirect_uri', 'redirect_uris is required for the authorization_code grant');
  }
  if (grants.includes('client_credentials') && metadata.token_endpoint_auth_method === 'none') {
    throw new GatehouseError(
      'invalid_client_metadata',
      'client_credentials requires an authenticated client (not token_endpoint_auth_method none)',
    );
  }
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    throw new GatehouseError('invalid_client_metadata', 'refresh_token requires the authorization_code grant');
  }
}

const changedConcurrently = () =>
  conflict('the client was changed concurrently (its secret was rotated or it was deleted); retry');

const needsSecret = (m: ClientMetadataInput) =>
  m.token_endpoint_auth_method === 'client_secret_basic' || m.token_endpoint_auth_method === 'client_secret_post';

/** What admins see of a client: never the secret's hash nor the previous secrets' hashes. */
export function publicClient(metadata: ClientMetadata): PublicClient {
  const { client_secret: _secret, client_secrets_previous: _previous, ...rest } = metadata;
  return rest;
}

/**
 * The secrets still accepted after a rotation at `now` with `overlapSeconds`: the outgoing one
 * until now+overlap, and every older one no longer than that either (an overlap of 0 therefore
 * ends all old secrets at once, which is what a leaked secret needs). Expired entries are dropped.
 */
function previousAfterRotation(current: ClientMetadata, now: number, overlapSeconds: number): PreviousClientSecret[] {
  const until = now + overlapSeconds;
  const candidates = [
    ...(current.client_secret ? [{ hash: current.client_secret, expires_at: until }] : []),
    ...(current.client_secrets_previous ?? []).map((p) => ({
      hash: p.hash,
      expires_at: Math.min(p.expires_at, until),
    })),
  ];
  return candidates.filter((p) => p.expires_at > now).slice(0, MAX_PREVIOUS_SECRETS);
}

export interface ClientsOptions {
  /** `http://localhost` redirect URIs allowed (ALLOW_HTTP_LOCALHOST_REDIRECTS). @default false */
  allowHttpLocalhostRedirects?: boolean;
  /** Port: every scope a registered API declares; a client's `scope` must name only those or OIDC's. Unchecked when omitted. */
  declaredScopes?: () => Promise<Set<string>>;
}

/** Client registration by admins. The secret is returned once, at creation, and stored only hashed. */
export class Clients {
  constructor(
    private readonly repo: ClientRepository,
    private readonly validator: ClientMetadataValidator,
    private readonly revoker: ClientTokenRevoker,
    private readonly options: ClientsOptions = {},
  ) {}

  private get redirectPolicy(): RedirectUriPolicy {
    return { allowHttpLocalhost: this.options.allowHttpLocalhostRedirects ?? false };
  }

  private checkScope(scope: string | undefined): Promise<void> {
    const declared = this.options.declaredScopes;
    return declared ? checkRegisteredScope(scope, declared) : Promise.resolve();
  }

  async create(input: ClientMetadataInput): Promise<{ client: PublicClient; clientSecret?: string }> {
    const base = withDefaults(input);
    check(base);
    checkRedirectUris(base, this.redirectPolicy);
    await this.checkScope(base.scope);
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

  async update(
    clientId: string,
    changes: ClientMetadataInput,
  ): Promise<{ client: PublicClient; clientSecret?: string }> {
    const current = await this.repo.find(clientId);
    if (!current) throw notFound('client');
    const { client_id, client_id_issued_at, client_secret, client_secrets_previous, ...currentInput } = current;
    const merged = withDefaults({ ...currentInput, ...changes });
    check(merged);
    // Only when a change touches them: a client registered under an older rule keeps working.
    if (changes.redirect_uris || changes.post_logout_redirect_uris || changes.application_type) {
      checkRedirectUris(merged, this.redirectPolicy);
    }
    if (changes.scope !== undefined) await this.checkScope(merged.scope);
    let newSecret: string | undefined;
    let secretHash = needsSecret(merged) ? client_secret : undefined;
    if (needsSecret(merged) && !secretHash) {
      newSecret = generateClientSecret();
      secretHash = hashClientSecret(newSecret);
    }
    // Secrets in their overlap window stay valid while the client still authenticates with a secret.
    const now = epochSeconds();
    const previous = secretHash ? (client_secrets_previous ?? []).filter((p) => p.expires_at > now) : [];
    const metadata: ClientMetadata = {
      ...merged,
      client_id,
      client_id_issued_at,
      ...(secretHash ? { client_secret: secretHash } : {}),
      ...(previous.length ? { client_secrets_previous: previous } : {}),
    };
    await this.validator.validate(metadata);
    if (!(await this.repo.replace(clientId, metadata, { ifSecretHash: client_secret }))) throw changedConcurrently();
    return { client: publicClient(metadata), clientSecret: newSecret };
  }

  /**
   * Issues a new secret (returned once) and keeps the outgoing one valid for `overlapSeconds`,
   * so deployments can switch over without downtime. Only for clients that authenticate with a
   * secret; public and private_key_jwt clients have none to rotate.
   */
  async rotateSecret(
    clientId: string,
    overlapSeconds = DEFAULT_SECRET_OVERLAP_SECONDS,
  ): Promise<{ clientSecret: string; previousExpiresAt: number | null }> {
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_SECRET_OVERLAP_SECONDS) {
      throw new GatehouseError(
        'invalid_request',
        `overlap_seconds must be an integer from 0 to ${MAX_SECRET_OVERLAP_SECONDS}`,
      );
    }
    const current = await this.repo.find(clientId);
    if (!current) throw notFound('client');
    if (!needsSecret(current)) {
      throw new GatehouseError(
        'invalid_request',
        `a client with token_endpoint_auth_method ${current.token_endpoint_auth_method ?? 'none'} has no secret to rotate`,
      );
    }
    const now = epochSeconds();
    const clientSecret = generateClientSecret();
    const previous = previousAfterRotation(current, now, overlapSeconds);
    const { client_secrets_previous: _old, ...rest } = current;
    const metadata: ClientMetadata = {
      ...rest,
      client_secret: hashClientSecret(clientSecret),
      ...(previous.length ? { client_secrets_previous: previous } : {}),
    };
    await this.validator.validate(metadata);
    if (!(await this.repo.replace(clientId, metadata, { ifSecretHash: current.client_secret })))
      throw changedConcurrently();
    return {
      clientSecret,
      previousExpiresAt: current.client_secret && overlapSeconds > 0 ? now + overlapSeconds : null,
    };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.repo.find(clientId))) throw notFound('client');
    await this.revoker.revokeAllForClient(clientId);
    await this.repo.delete(clientId);
  }
}
