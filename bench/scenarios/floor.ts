import { randomBytes } from 'node:crypto';
import type { BackendName } from '../../test/support/backends.js';
import { freePort, startChildServer } from '../support/child-server.js';
import {
  backendLabel,
  type BenchContext,
  type FloorKind,
  recordFloorPair,
  warmAndMeasure,
} from '../support/context.js';
import { FORM, RESOURCE, basicAuth } from '../support/gatehouse-fixture.js';
import type { LoadSpec } from '../support/load.js';
import { rowFrom } from '../support/report.js';

export interface Floor {
  /** Measures the floor now, as the baseline for `backend`'s run of the same request that follows. */
  measureFor(backend: BackendName, kind: FloorKind): Promise<void>;
  stop(): Promise<void>;
}

/** The row name of each floor request (Gatehouse's run of it uses the same name). */
export const FLOOR_SCENARIOS: Record<FloorKind, string> = {
  jwt: 'client_credentials, JWT access token',
  opaque: 'client_credentials, opaque access token',
  introspection: 'introspection of an opaque token',
};

/**
 * The library floor: bare oidc-provider (bench/floor-server.ts) doing client_credentials with a
 * JWT, with an opaque token, and introspection of an opaque token. It stays up (idle) for the
 * whole run and is measured right before each of Gatehouse's runs of the same request, so each
 * ratio compares two runs under the same machine conditions.
 */
export async function startFloor(ctx: BenchContext): Promise<Floor> {
  const { settings } = ctx;
  const port = await freePort();
  const client = { client_id: 'floor-client', client_secret: randomBytes(32).toString('base64url') };
  const url = `http://127.0.0.1:${port}`;
  const server = await startChildServer(
    'floor',
    'bench/floor-server.ts',
    {
      FLOOR_PORT: String(port),
      FLOOR_CLIENT_ID: client.client_id,
      FLOOR_CLIENT_SECRET: client.client_secret,
      FLOOR_RESOURCE: RESOURCE,
    },
    `${url}/.well-known/openid-configuration`,
    settings.serverNodeArgs,
  );
  const request = (path: string, body: string): LoadSpec => ({
    url: `${url}${path}`,
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basicAuth(client) },
    body,
    connections: settings.connections,
    seconds: settings.seconds,
  });
  const post = async (spec: LoadSpec) =>
    (await fetch(spec.url, { method: 'POST', headers: spec.headers, body: spec.body }).then((r) => r.json())) as Record<
      string,
      unknown
    >;
  const specs = {} as Record<FloorKind, LoadSpec>;
  try {
    specs.jwt = request('/token', `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`);
    const jwt = await post(specs.jwt);
    if (String(jwt.access_token).split('.').length !== 3)
      throw new Error(`floor did not issue a JWT: ${JSON.stringify(jwt)}`);
    specs.opaque = request('/token', 'grant_type=client_credentials');
    const opaque = await post(specs.opaque);
    if (typeof opaque.access_token !== 'string' || opaque.access_token.split('.').length === 3)
      throw new Error(`floor did not issue an opaque token: ${JSON.stringify(opaque)}`);
    specs.introspection = request(
      '/token/introspection',
      `token=${encodeURIComponent(opaque.access_token)}&token_type_hint=access_token`,
    );
    const info = await post(specs.introspection);
    if (info.active !== true) throw new Error(`floor introspection: ${JSON.stringify(info)}`);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    async measureFor(backend, kind) {
      const r = await warmAndMeasure(ctx, `floor (before ${backend}): ${FLOOR_SCENARIOS[kind]}`, specs[kind], server);
      if (kind === 'jwt') ctx.results.floorPeak[backend] = r;
      recordFloorPair(ctx.results, backend, kind, { floor: r });
      ctx.results.rows.push(
        rowFrom(
          FLOOR_SCENARIOS[kind],
          `library floor (bare oidc-provider), measured before the ${backendLabel(backend)} run`,
          'req/s',
          r,
        ),
      );
    },
    stop: () => server.stop(),
  };
}
