import { randomBytes } from 'node:crypto';
import type { BackendName } from '../../test/support/backends.js';
import { freePort, startChildServer } from '../support/child-server.js';
import { backendLabel, warmAndMeasure, type BenchContext } from '../support/context.js';
import { FORM, RESOURCE, basicAuth } from '../support/gatehouse-fixture.js';
import type { LoadSpec } from '../support/load.js';
import { rowFrom } from '../support/report.js';

export interface Floor {
  /** Measures the floor now, as the baseline for `backend`'s client_credentials JWT run that follows. */
  measureFor(backend: BackendName): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The library floor: bare oidc-provider (bench/floor-server.ts) doing client_credentials with a
 * JWT. It stays up (idle) for the whole run and is measured right before each Gatehouse
 * client_credentials JWT run, so each ratio compares two runs under the same machine conditions.
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
  const spec: LoadSpec = {
    url: `${url}/token`,
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basicAuth(client) },
    body: `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`,
    connections: settings.connections,
    seconds: settings.seconds,
  };
  try {
    const check = (await fetch(spec.url, { method: 'POST', headers: spec.headers, body: spec.body }).then((r) =>
      r.json(),
    )) as { access_token?: string };
    if (check.access_token?.split('.').length !== 3)
      throw new Error(`floor did not issue a JWT: ${JSON.stringify(check)}`);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    async measureFor(backend) {
      const r = await warmAndMeasure(ctx, `floor (before ${backend}): client_credentials JWT`, spec, server);
      ctx.results.floorPeak[backend] = r;
      ctx.results.rows.push(
        rowFrom(
          'client_credentials, JWT access token',
          `library floor (bare oidc-provider), measured before the ${backendLabel(backend)} run`,
          'req/s',
          r,
        ),
      );
    },
    stop: () => server.stop(),
  };
}
