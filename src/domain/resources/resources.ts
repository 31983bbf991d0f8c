import { z } from 'zod';
import { ADMIN_RESOURCE, ADMIN_SCOPES } from '../admin/admin-api-resource.js';
import { GatehouseError, notFound } from '../errors.js';

const scopeToken = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope names are single tokens without spaces or quotes');

const clientIdToken = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7E]+$/, 'client ids are printable characters without spaces');

/** Client ids of resource servers, each named once. */
const introspectionClients = z
  .array(clientIdToken)
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, 'introspection_clients must not repeat a client id');

/** An API's settings, without defaults: a PATCH changes only what it names. */
const resourceFields = {
  name: z.string().min(1).max(200).optional(),
  scopes: z.array(z.object({ name: scopeToken, description: z.string().max(500).optional() }).strict()).max(200),
  access_token_ttl_seconds: z.number().int().min(30).max(86400).optional(),
  access_token_format: z.enum(['jwt', 'opaque']),
  signing_alg: z.enum(['ES256', 'RS256', 'EdDSA']).optional(),
  /** Resource servers (client ids) that may introspect tokens whose audience is this API (RFC 7662). */
  introspection_clients: introspectionClients.optional(),
};

/** An API that accepts Gatehouse access tokens, named by its resource indicator (RFC 8707). */
export const resourceInputSchema = z
  .object({
    indicator: z
      .url()
      .refine((u) => !u.includes('#'), 'indicator must not contain a fragment')
      .refine((u) => u !== ADMIN_RESOURCE, `${ADMIN_RESOURCE} is built in and cannot be registered`),
    ...resourceFields,
    scopes: resourceFields.scopes.default([]),
    access_token_format: resourceFields.access_token_format.default('jwt'),
  })
  .strict();

// Built from the fields without defaults: zod applies a default inside .partial(), so a PATCH of
// one field would otherwise reset `scopes` and `access_token_format`.
export const resourcePatchSchema = z.object(resourceFields).partial().strict();

export type ResourceInput = z.infer<typeof resourceInputSchema>;
export type Resource = ResourceInput & { introspection_clients: string[]; created_at: string; updated_at: string };
/** An API Gatehouse itself provides (the admin API): listed, never stored, changed or deleted. */
export type BuiltInResource = ResourceInput & { built_in: true };

export interface ResourceRepository {
  insert(resource: ResourceInput): Promise<Resource>;
  find(indicator: string): Promise<Resource | undefined>;
  list(): Promise<Resource[]>;
  update(indicator: string, changes: Partial<ResourceInput>): Promise<Resource | undefined>;
  delete(indicator: string): Promise<boolean>;
}

/** Port: does a client with this id exist (resource servers named in `introspection_clients`)? */
export type ClientExists = (clientId: string) => Promise<boolean>;

/** Registered APIs. Lookups on the token path go through a short cache (see RESOURCE_CACHE_MS). */
export class Resources {
  /** Bounded staleness across instances for a change to an API's settings; keeps token issuance off the database. */
  static readonly RESOURCE_CACHE_MS = 5000;
  readonly #cache = new Map<string, { at: number; value: Resource | undefined }>();
  #declared: { at: number; value: Promise<Set<string>> } | undefined;

  /** `clientExists`: checks `introspection_clients`; ids are only checked for form when omitted. */
  constructor(
    private readonly repo: ResourceRepository,
    private readonly builtIn: readonly BuiltInResource[] = [],
    private readonly clientExists?: ClientExists,
  ) {}

  /** 409 for a built-in API's indicator: it cannot be created, changed or deleted. */
  refuseIfBuiltIn(indicator: string): void {
    if (this.builtIn.some((b) => b.indicator === indicator)) {
      throw new GatehouseError('conflict', `${indicator} is built in: it cannot be created, changed or deleted`);
    }
  }

  /** For admins: the built-in APIs first, then the registered ones. */
  async listAll(): Promise<(Resource | BuiltInResource)[]> {
    return [...this.builtIn, ...(await this.repo.list())];
  }

  /** For admins: a built-in or registered API; not_found otherwise. */
  async describe(indicator: string): Promise<Resource | BuiltInResource> {
    return this.builtIn.find((b) => b.indicator === indicator) ?? this.get(indicator);
  }

  /** A resource server that is not a registered client is a typo that would silently grant nothing. */
  async #checkIntrospectionClients(ids: string[] | undefined): Promise<void> {
    if (!ids || !this.clientExists) return;
    for (const id of ids) {
      if (!(await this.clientExists(id))) {
        throw new GatehouseError('invalid_request', `introspection_clients: no client ${id}`);
      }
    }
  }

  async create(input: ResourceInput): Promise<Resource> {
    this.refuseIfBuiltIn(input.indicator);
    if (await this.repo.find(input.indicator))
      throw new GatehouseError('conflict', 'a resource with this indicator already exists');
    await this.#checkIntrospectionClients(input.introspection_clients);
    const created = await this.repo.insert(input);
    this.#cache.delete(input.indicator);
    this.#declared = undefined;
    return created;
  }

  async get(indicator: string): Promise<Resource> {
    const found = await this.repo.find(indicator);
    if (!found) throw notFound('resource');
    return found;
  }

  list(): Promise<Resource[]> {
    return this.repo.list();
  }

  async update(indicator: string, changes: Partial<ResourceInput>): Promise<Resource> {
    this.refuseIfBuiltIn(indicator);
    await this.#checkIntrospectionClients(changes.introspection_clients);
    const updated = await this.repo.update(indicator, changes);
    if (!updated) throw notFound('resource');
    this.#cache.delete(indicator);
    this.#declared = undefined;
    return updated;
  }

  async delete(indicator: string): Promise<void> {
    this.refuseIfBuiltIn(indicator);
    if (!(await this.repo.delete(indicator))) throw notFound('resource');
    this.#cache.delete(indicator);
    this.#declared = undefined;
  }

  /**
   * Every scope some API declares, the built-in admin API's included. `fresh` reads the
   * database (admin writes); otherwise the same short cache as `lookup` (token requests).
   */
  declaredScopes(options: { fresh?: boolean } = {}): Promise<Set<string>> {
    const hit = this.#declared;
    if (!options.fresh && hit && Date.now() - hit.at < Resources.RESOURCE_CACHE_MS) return hit.value;
    const value = this.repo
      .list()
      .then((all) => new Set([...ADMIN_SCOPES, ...all.flatMap((r) => r.scopes.map((s) => s.name))]));
    this.#declared = { at: Date.now(), value };
    value.catch(() => {
      if (this.#declared?.value === value) this.#declared = undefined;
    });
    return value;
  }

  /** The scopes the API `indicator` declares (the admin API's for urn:gatehouse:admin); undefined if unknown. */
  async scopesOf(indicator: string): Promise<string[] | undefined> {
    if (indicator === ADMIN_RESOURCE) return [...ADMIN_SCOPES];
    return (await this.lookup(indicator))?.scopes.map((s) => s.name);
  }

  async lookup(indicator: string): Promise<Resource | undefined> {
    const hit = this.#cache.get(indicator);
    if (hit && Date.now() - hit.at < Resources.RESOURCE_CACHE_MS) return hit.value;
    const value = await this.repo.find(indicator);
    this.#cache.set(indicator, { at: Date.now(), value });
    return value;
  }
}
