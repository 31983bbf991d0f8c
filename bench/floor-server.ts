/**
 * The "library floor": bare oidc-provider with its default in-memory adapter and one static
 * client, issuing the same client_credentials tokens as Gatehouse does — a JWT access token
 * (ES256, audience = resource) when a resource is named, an opaque one when none is — and
 * introspecting them. No database, no Redis, no Koa wrapper, no JWT record, no audit: what the
 * library costs alone.
 *
 * Env: FLOOR_PORT, FLOOR_CLIENT_ID, FLOOR_CLIENT_SECRET, FLOOR_RESOURCE.
 */
import http from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, errors } from 'oidc-provider';

const port = Number(process.env.FLOOR_PORT ?? 0);
const clientId = process.env.FLOOR_CLIENT_ID ?? 'floor-client';
const clientSecret = process.env.FLOOR_CLIENT_SECRET ?? 'floor-client-secret-0123456789abcdef';
const resource = process.env.FLOOR_RESOURCE ?? 'https://api.bench.test';
const issuer = `http://localhost:${port}`;

// Same algorithm as Gatehouse's default (DEFAULT_SIGNING_ALG=ES256), so signing costs match.
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'floor-es256' };

const configuration: Configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  jwks: { keys: [signingKey] } as Configuration['jwks'],
  // The library's RS256 default would need an RSA key; Gatehouse's clients default to ES256 as well.
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  cookies: { keys: ['floor-cookie-key-0123456789abcdef'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource named: an opaque token (Gatehouse's behaviour without a resource too).
      defaultResource: async () => undefined as unknown as string,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        // The one registered resource, as Gatehouse accepts only registered ones.
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'read',
          audience: indicator,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
};

const provider = new Provider(issuer, configuration);
const server = http.createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
