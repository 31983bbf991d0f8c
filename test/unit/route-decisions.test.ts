import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Provider from 'oidc-provider';
import { auditProtocolEvents } from '../../src/oidc/audit-events.js';
import { unauthorizedGrantType } from '../../src/oidc/unauthorized-grant-type.js';
import type { AuditLog } from '../../src/domain/audit/audit-log.js';

/**
 * Behind the public port's 404 for non-canonical spellings, the provider middleware decides on
 * the route oidc-provider resolved (`ctx.oidc.route`), so `/Token` and `/token/` are treated as
 * `/token` even if a request reached the provider some other way.
 */
type Middleware = (ctx: unknown, next: () => Promise<void>) => Promise<void>;

function tokenContext(path: string, status: number, body: unknown) {
  return {
    method: 'POST',
    path,
    status,
    body,
    req: { headers: {} },
    ip: '127.0.0.1',
    oidc: { route: 'token', client: { clientId: 'app' }, params: { grant_type: 'client_credentials' }, entities: {} },
  };
}

describe('provider middleware decides on ctx.oidc.route', () => {
  for (const path of ['/token', '/Token', '/token/']) {
    it(`audits a token issued at ${path}`, async () => {
      const recorded: unknown[] = [];
      const uses: Middleware[] = [];
      const provider = { use: (fn: Middleware) => uses.push(fn), on: () => undefined } as unknown as Provider;
      auditProtocolEvents(provider, { record: (e: unknown) => recorded.push(e) } as unknown as AuditLog);
      await uses[0]!(tokenContext(path, 200, { access_token: 'x' }), async () => undefined);
      assert.equal(recorded.length, 1);
      assert.equal((recorded[0] as { type: string }).type, 'token.issued');
    });

    it(`answers unauthorized_client for a grant type not allowed at ${path}`, async () => {
      const ctx = tokenContext(path, 400, {
        error: 'invalid_request',
        error_description: 'requested grant type is not allowed for this client',
      });
      await unauthorizedGrantType()(ctx as never, async () => undefined);
      assert.equal((ctx.body as { error: string }).error, 'unauthorized_client');
    });
  }

  it('leaves other routes alone', async () => {
    const ctx = {
      ...tokenContext('/par', 400, {
        error: 'invalid_request',
        error_description: 'requested grant type is not allowed for this client',
      }),
    };
    ctx.oidc = { ...ctx.oidc, route: 'pushed_authorization_request' };
    await unauthorizedGrantType()(ctx as never, async () => undefined);
    assert.equal((ctx.body as { error: string }).error, 'invalid_request');
  });
});
