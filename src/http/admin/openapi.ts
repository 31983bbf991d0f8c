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
}

/** `op('post', '/admin/clients', 'Register a client', [201, 400], clientMetadataSchema)`: one line per route. */
export function op(method: Method, path: string, summary: string, responses: number[], body?: z.ZodType, options: { public?: boolean } = {}): AdminOperation {
  return { method, path, summary, responses, body, ...options };
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No content', 400: 'Invalid request', 401: 'Admin bearer key missing or invalid',
  403: 'Forbidden', 404: 'Not found', 409: 'Conflict', 413: 'Body too large', 415: 'Body is not JSON',
};

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** `/admin/users/:id` → `/admin/users/{id}` and its path parameters. */
function openApiPath(pattern: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = pattern.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => { params.push(name); return `{${name}}`; });
  return { path, params };
}

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client may send. */
function requestSchema(schema: z.ZodType): Record<string, unknown> {
  // Refinements (redirect URI rules, …) have no JSON Schema form; they are enforced, just not described.
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

function operationObject(o: AdminOperation, params: string[]): Record<string, unknown> {
  const codes = o.public ? o.responses : [...new Set([...o.responses, 401])];
  return {
    summary: o.summary,
    operationId: `${o.method}${o.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(o.public ? { security: [] } : {}),
    ...(params.length ? { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) } : {}),
    ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: requestSchema(o.body) } } } } : {}),
    responses: Object.fromEntries(codes.sort((a, b) => a - b).map((code) => [String(code), {
      description: STATUS_TEXT[code] ?? String(code),
      ...(code >= 400 ? { content: { 'application/json': { schema: ERROR_REF } } } : {}),
    }])),
  };
}

/**
 * The OpenAPI 3.1 document: the table's operations whose routes are registered (and its public
 * ones, served outside the router), plus every registered route the table does not describe yet
 * (marked `x-undocumented`): the document never lists a missing route nor omits a served one.
 */
export function buildOpenApi(operations: readonly AdminOperation[], router: Router, info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (o: AdminOperation, extra: Record<string, unknown> = {}) => {
    const { path, params } = openApiPath(o.path);
    const item = paths[path] ?? {};
    paths[path] = item;
    item[o.method] = { ...operationObject(o, params), ...extra };
  };
  const registered = new Set(router.stack.flatMap((layer) => (typeof layer.path === 'string' ? layer.methods.map((m) => `${m.toLowerCase()} ${layer.path}`) : [])));
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
      securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'The admin API key (GATEHOUSE_ADMIN_KEY or keys/admin-key)' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'error_description'],
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
        },
      },
    },
  };
}

/** `GET /openapi.json` on the (prefixed, key-protected) router; built once, after every route is registered. */
export function openApiRoute(r: Router, operations: readonly AdminOperation[], info: { title: string; version: string }): void {
  let document: Record<string, unknown> | undefined;
  r.get('/openapi.json', (ctx) => {
    document ??= buildOpenApi(operations, r, info);
    ctx.body = document;
  });
}
