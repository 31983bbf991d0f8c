import type Router from '@koa/router';
import { z } from 'zod';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One admin operation as documented: the request schema is the zod schema the route validates with. */
export interface AdminOperation {
  method: Method;
  /** The router pattern, with the prefix: `/admin/clients/:id`. */
  path: string;
  summary: string;
  /** Status codes the operation answers with (401 is added to every operation behind the key). */
  responses: number[];
  /** The JSON body schema, when the route takes one. */
  body?: z.ZodType;
  /** Served without the admin key (e.g. /metrics). */
  public?: boolean;
  /** Query parameters the route reads: each property of the object is one parameter. */
  query?: z.ZodObject;
  /** The body of the success answer (JSON unless `responseType` says otherwise). */
  response?: z.ZodType;
  /** Media type of the success answer. @default application/json */
  responseType?: string;
}

export interface OperationOptions {
  public?: boolean;
  query?: z.ZodObject;
  response?: z.ZodType;
  responseType?: string;
}

/** `op('post', '/admin/clients', 'Register a client', [201, 400], clientMetadataSchema, { response })`: one line per route. */
export function op(
  method: Method,
  path: string,
  summary: string,
  responses: number[],
  body?: z.ZodType,
  options: OperationOptions = {},
): AdminOperation {
  return { method, path, summary, responses, body, ...options };
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No content',
  400: 'Invalid request: a body, query or path value broke a rule (error: invalid_request, invalid_client_metadata, invalid_redirect_uri)',
  401: 'Admin bearer key or admin access token missing or invalid (error: invalid_token)',
  403: 'An admin access token without the scope this method needs: admin:read for GET, admin:write otherwise (error: insufficient_scope)',
  404: 'Not found (error: not_found)',
  409: 'Conflict with the current state (error: conflict)',
  413: 'Body larger than the limit (error: payload_too_large)',
  415: 'Body is not application/json (error: unsupported_media_type)',
};

/**
 * Statuses every operation of a kind can answer, whatever the table lists: the admin auth (401,
 * 403 for a token lacking the scope) and the NUL check on the URL (400) run before every route
 * behind the key; a route that reads a body also answers 400 (schema), 413 (size) and 415 (type).
 */
function impliedStatuses(o: AdminOperation): number[] {
  const codes = o.public ? [] : [400, 401, 403];
  if (o.body) codes.push(400, 413, 415);
  return codes;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** `/admin/users/:id` → `/admin/users/{id}` and its path parameters. */
function openApiPath(pattern: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = pattern.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client may send (`input`) or receives (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  // Refinements (redirect URI rules, …) have no JSON Schema form; they are enforced, just not described.
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return json;
}

/** One OpenAPI query parameter per property of the route's query schema, with its description. */
function queryParameters(query: z.ZodObject): Record<string, unknown>[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const { description, ...schema } = jsonSchema(field as z.ZodType);
    return {
      name,
      in: 'query',
      required: !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema,
    };
  });
}

function successContent(o: AdminOperation): Record<string, unknown> | undefined {
  if (!o.response && !o.responseType) return undefined;
  const type = o.responseType ?? 'application/json';
  return { content: { [type]: { schema: o.response ? jsonSchema(o.response, 'output') : { type: 'string' } } } };
}

function operationObject(o: AdminOperation, params: string[]): Record<string, unknown> {
  const codes = [...new Set([...o.responses, ...impliedStatuses(o)])];
  const parameters = [
    ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...(o.query ? queryParameters(o.query) : []),
  ];
  return {
    summary: o.summary,
    operationId: `${o.method}${o.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(o.public ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(o.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(o.body) } } } }
      : {}),
    responses: Object.fromEntries(
      codes
        .sort((a, b) => a - b)
        .map((code) => [
          String(code),
          {
            description: STATUS_TEXT[code] ?? String(code),
            ...(code >= 400 ? { content: { 'application/json': { schema: ERROR_REF } } } : {}),
            ...(code >= 200 && code < 300 && code !== 204 ? successContent(o) : {}),
          },
        ]),
    ),
  };
}

/**
 * The OpenAPI 3.1 document: the table's operations whose routes are registered (and its public
 * ones, served outside the router), plus every registered route the table does not describe yet
 * (marked `x-undocumented`): the document never lists a missing route nor omits a served one.
 */
export function buildOpenApi(
  operations: readonly AdminOperation[],
  router: Router,
  info: { title: string; version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (o: AdminOperation, extra: Record<string, unknown> = {}) => {
    const { path, params } = openApiPath(o.path);
    const item = paths[path] ?? {};
    paths[path] = item;
    item[o.method] = { ...operationObject(o, params), ...extra };
  };
  const registered = new Set(
    router.stack.flatMap((layer) =>
      typeof layer.path === 'string' ? layer.methods.map((m) => `${m.toLowerCase()} ${layer.path}`) : [],
    ),
  );
  for (const o of operations) if (o.public || registered.has(`${o.method} ${o.path}`)) add(o);
  for (const layer of router.stack) {
    if (typeof layer.path !== 'string') continue;
    for (const m of layer.methods) {
      const method = m.toLowerCase() as Method;
      if (method === ('head' as Method) || !['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      if (paths[openApiPath(layer.path).path]?.[method]) continue;
      add(op(method, layer.path, 'Undocumented route', [200]), { 'x-undocumented': true });
    }
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/', description: 'The admin port (ADMIN_PORT); never the public port' }],
    security: [{ adminKey: [] }],
    paths,
    components: {
      securitySchemes: {
        adminKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'The admin API key (GATEHOUSE_ADMIN_KEY or keys/admin-key)',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'error_description'],
          properties: {
            error: { type: 'string', description: 'OAuth-style error code, e.g. invalid_request, not_found, conflict' },
            error_description: { type: 'string', description: 'What rule was broken, for people' },
          },
        },
      },
    },
  };
}

/** `GET /openapi.json` on the (prefixed, key-protected) router; built once, after every route is registered. */
export function openApiRoute(
  r: Router,
  operations: readonly AdminOperation[],
  info: { title: string; version: string },
): void {
  let document: Record<string, unknown> | undefined;
  r.get('/openapi.json', (ctx) => {
    document ??= buildOpenApi(operations, r, info);
    ctx.body = document;
  });
}
