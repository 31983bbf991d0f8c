import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { conflict, invalidRequest, notFound } from '../errors.js';
import type { KeyEncryption } from '../keys/key-encryption.js';
import { appleKeyProblem, normalizeAppleKey } from './apple-key.js';
import {
  connectionInputSchema,
  type ConnectionInput,
  DEFAULT_OIDC_SCOPES,
  OAUTH2_PRESETS,
  OIDC_PRESETS,
  slugFrom,
  urlProblem,
} from './connection-input.js';
import type { SamlConnectionSetup } from './saml.js';
import {
  type Connection,
  type ConnectionRepository,
  connectionSecretContext,
  type NewConnection,
  type StoredConnection,
} from './connection.js';

export interface ConnectionsOptions {
  /** http://localhost upstreams (development), like ALLOW_HTTP_LOCALHOST_REDIRECTS for redirect URIs. */
  allowHttpLocalhost?: boolean;
  /** SAML connections: SP key generation and IdP metadata checks (src/federation); without it none can be created. */
  saml?: SamlConnectionSetup;
  /** ISSUER: a SAML SP's entity ID is `${issuer}/saml/:slug` (its certificates' CN). */
  issuer?: string;
}

/** A connection as read back: never its secret, only whether one is set. */
export type ConnectionView = Connection & { secretSet: boolean };

const view = ({ secretSealed, ...c }: StoredConnection): ConnectionView => ({ ...c, secretSet: secretSealed !== null });

function validationError(error: z.ZodError): Error {
  return invalidRequest(
    error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
      .join('; '),
  );
}

/** OIDC and OAuth 2.0 upstreams authenticate Gatehouse as their client: a secret is needed. */
function requireSecret(input: ConnectionInput, sealed: string | null): void {
  if (input.type !== 'saml' && sealed === null) throw invalidRequest('client_secret: required');
}

/** Preset apple: the client secret is the `.p8` key, normalized, and refused unless it is one. */
function checkedSecret(input: ConnectionInput, secret: string | undefined): string | undefined {
  if (secret === undefined || input.type !== 'oidc' || input.preset !== 'apple') return secret;
  const key = normalizeAppleKey(secret);
  const problem = appleKeyProblem(key);
  if (problem) throw invalidRequest(problem);
  return key;
}

/**
 * A connection in the admin API's field names, as given on input (PATCH merges into it; the admin
 * routes answer with it plus ids, URLs and times).
 */
export function asInput(c: Connection): Record<string, unknown> {
  return {
    type: c.type,
    name: c.name,
    slug: c.slug,
    enabled: c.enabled,
    domains: c.domains,
    enforce_sso: c.enforceSso,
    jit: c.jit,
    link_existing: c.linkExisting,
    trusted_mfa: c.trustedMfa,
    ...c.settings,
  };
}

/**
 * Admin management of upstream identity providers. Validates per type, fills presets, seals the
 * client secret under the KEK (the connection id as associated data) and never hands it back.
 */
export class Connections {
  constructor(
    private readonly repository: ConnectionRepository,
    private readonly kek: KeyEncryption,
    private readonly options: ConnectionsOptions = {},
  ) {}

  async create(body: unknown): Promise<ConnectionView> {
    const input = await this.parse(body);
    const id = randomUUID();
    const slug = input.slug ?? slugFrom(input.name);
    await this.checkUnique(id, slug, input.domains);
    const secret = checkedSecret(input, 'client_secret' in input ? input.client_secret : undefined);
    const sealed = secret
      ? this.kek.encrypt(secret, connectionSecretContext(id))
      : input.type === 'saml'
        ? await this.samlKeys(id, slug)
        : null;
    requireSecret(input, sealed);
    return view(await this.repository.insert(this.toConnection(id, slug, input, sealed)));
  }

  async get(id: string): Promise<ConnectionView> {
    return view(await this.stored(id));
  }

  async list(): Promise<ConnectionView[]> {
    return (await this.repository.list()).map(view);
  }

  /** PATCH: the given fields replace the stored ones; the result is validated as a whole. */
  async update(id: string, patch: Record<string, unknown>): Promise<ConnectionView> {
    const current = await this.stored(id);
    if (patch.type !== undefined && patch.type !== current.type)
      throw invalidRequest(`type: cannot change a connection's type (${current.type}); delete it and create another`);
    const merged = { ...asInput(current), ...patch };
    // A new preset fills its own issuer/endpoints and scopes unless those are given too.
    if (patch.preset !== undefined && patch.preset !== (current.settings as { preset?: string }).preset) {
      const filled = ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'scopes'];
      for (const k of [...filled, 'apple_team_id', 'apple_key_id']) if (!(k in patch)) delete merged[k];
    }
    // SAML metadata comes from one source: naming the other replaces it.
    if ('idp_metadata_url' in patch && !('idp_metadata_xml' in patch)) delete merged.idp_metadata_xml;
    if ('idp_metadata_xml' in patch && !('idp_metadata_url' in patch)) delete merged.idp_metadata_url;
    const input = await this.parse(merged);
    const slug = input.slug ?? current.slug;
    await this.checkUnique(id, slug, input.domains);
    const given = 'client_secret' in input ? input.client_secret : undefined;
    const secret = checkedSecret(input, given);
    // A connection turned into an Apple one keeps its secret only when that is a .p8 key too.
    if (given === undefined && input.type === 'oidc' && input.preset === 'apple' && current.secretSealed)
      checkedSecret(input, await this.secretOf(current));
    let sealed = secret ? this.kek.encrypt(secret, connectionSecretContext(id)) : current.secretSealed;
    // A SAML connection keeps its SP keys; one without (created before SAML was available) gets them now.
    if (input.type === 'saml' && sealed === null) sealed = await this.samlKeys(id, slug);
    requireSecret(input, sealed);
    const updated = await this.repository.update(this.toConnection(id, slug, input, sealed));
    if (!updated) throw notFound('connection');
    return view(updated);
  }

  async delete(id: string): Promise<void> {
    // Linked identities go with it (ON DELETE CASCADE).
    if (!(await this.repository.delete(id))) throw notFound('connection');
  }

  /** The plaintext client secret, for the sign-in code that talks to the upstream. */
  async secretOf(connection: StoredConnection): Promise<string | undefined> {
    return connection.secretSealed === null
      ? undefined
      : this.kek.decrypt(connection.secretSealed, connectionSecretContext(connection.id));
  }

  /** Fresh SP keys for a SAML connection, sealed as its secret (JSON of SamlSpKeys). */
  private async samlKeys(id: string, slug: string): Promise<string> {
    const setup = this.options.saml;
    if (!setup) throw invalidRequest('type: SAML connections are not available on this server');
    const issuer = (this.options.issuer ?? '').replace(/\/+$/, '');
    const keys = await setup.generateKeys(`${issuer}/saml/${slug}`);
    return this.kek.encrypt(JSON.stringify(keys), connectionSecretContext(id));
  }

  private async stored(id: string): Promise<StoredConnection> {
    const found = await this.repository.findById(id);
    if (!found) throw notFound('connection');
    return found;
  }

  private async parse(body: unknown): Promise<ConnectionInput> {
    const parsed = connectionInputSchema.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error);
    const input = parsed.data;
    const problems: string[] = [];
    const allowHttp = this.options.allowHttpLocalhost ?? false;
    const checkUrl = (field: string, value: string | undefined, required: string) => {
      if (value === undefined) problems.push(`${field}: ${required}`);
      else {
        const problem = urlProblem(field, value, allowHttp);
        if (problem) problems.push(problem);
      }
    };
    if (input.type === 'oidc') {
      const preset = input.preset ? OIDC_PRESETS[input.preset] : undefined;
      input.issuer ??= preset?.issuer;
      input.scopes ??= [...(preset?.scopes ?? DEFAULT_OIDC_SCOPES)];
      checkUrl('issuer', input.issuer, 'required unless a preset (google, microsoft, apple, gitlab) fills it');
      if (!input.scopes.includes('openid')) problems.push('scopes: must include openid');
      if (input.preset === 'apple') {
        if (!input.apple_team_id) problems.push('apple_team_id: required with preset apple (10 characters)');
        if (!input.apple_key_id) problems.push('apple_key_id: required with preset apple (10 characters)');
      } else if (input.apple_team_id || input.apple_key_id)
        problems.push('apple_team_id, apple_key_id: only with preset apple');
    } else if (input.type === 'oauth2') {
      const preset = input.preset ? OAUTH2_PRESETS[input.preset] : undefined;
      input.authorization_endpoint ??= preset?.authorization_endpoint;
      input.token_endpoint ??= preset?.token_endpoint;
      input.userinfo_endpoint ??= preset?.userinfo_endpoint;
      input.scopes ??= preset ? [...preset.scopes] : undefined;
      for (const field of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint'] as const)
        checkUrl(field, input[field], 'required unless preset "github" fills it');
      if (!input.scopes) problems.push('scopes: required unless preset "github" fills them');
    } else {
      if (!input.idp_metadata_xml === !input.idp_metadata_url)
        problems.push('idp_metadata_xml or idp_metadata_url: give exactly one');
      if (input.idp_metadata_url) checkUrl('idp_metadata_url', input.idp_metadata_url, '');
      if (input.idp_metadata_xml) {
        const problem = !/<([\w.-]+:)?EntityDescriptor[\s>]/.test(input.idp_metadata_xml)
          ? 'must be SAML metadata (an EntityDescriptor)'
          : await this.options.saml?.checkIdpMetadata(input.idp_metadata_xml);
        if (problem) problems.push(`idp_metadata_xml: ${problem}`);
      }
    }
    if (problems.length) throw invalidRequest(problems.slice(0, 3).join('; '));
    return input;
  }

  private async checkUnique(id: string, slug: string, domains: string[]): Promise<void> {
    const all = await this.repository.list();
    if (all.some((c) => c.slug === slug && c.id !== id))
      throw conflict(`slug: "${slug}" is taken by another connection; choose another slug`);
    for (const other of all) {
      if (other.id === id) continue;
      const shared = domains.find((d) => other.domains.includes(d));
      if (shared) throw conflict(`domains: ${shared} is already routed to connection "${other.slug}"`);
    }
  }

  private toConnection(id: string, slug: string, input: ConnectionInput, sealed: string | null): NewConnection {
    const {
      type,
      name,
      slug: _slug,
      enabled,
      domains,
      enforce_sso,
      jit,
      link_existing,
      trusted_mfa,
      ...settings
    } = input;
    if ('client_secret' in settings) delete settings.client_secret;
    const base = {
      id,
      slug,
      name,
      enabled,
      domains,
      enforceSso: enforce_sso,
      jit,
      linkExisting: link_existing,
      trustedMfa: trusted_mfa,
      secretSealed: sealed,
    };
    return { ...base, type, settings } as NewConnection;
  }
}
