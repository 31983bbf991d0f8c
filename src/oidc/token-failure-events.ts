import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../domain/audit/audit-log.js';
import type { Logger } from '../observability/logger.js';
import { routesTo } from './route-path.js';

/** Enough for any oidc-provider description; bounds what an attacker-chosen client_id can add to a row. */
const MAX_TEXT = 200;

/** Why a token request failed, as oidc-provider said it (error_detail is the precise part). */
interface Failure {
  error: string;
  description?: string;
  detail?: string;
}

/**
 * oidc-provider's details that need a word more to be diagnosable. The stores forget a code or
 * token at its expiry, so "not found" is how an expired one looks.
 */
const HINTS: Record<string, string> = {
  'authorization code not found': 'authorization code not found (expired, or never issued)',
  'refresh token not found': 'refresh token not found (expired, revoked, or never issued)',
};

type ErrorLike = { error?: unknown; error_description?: unknown; error_detail?: unknown };

const text = (v: unknown) => (typeof v === 'string' && v ? v.slice(0, MAX_TEXT) : undefined);

/**
 * The client id a failed request presented: the authenticated client, else the one it named
 * (client_id parameter or the Basic user name). An unauthenticated request can claim any id, so
 * the actor stays `anonymous`; the id is still what an operator searches for ("why does app X
 * fail?").
 */
function presentedClientId(ctx: KoaContextWithOIDC, error: string): { clientId?: string; authenticated: boolean } {
  const known = ctx.oidc?.client?.clientId;
  // oidc-provider loads the client before it checks the credential: invalid_client means that check failed.
  if (known) return { clientId: known, authenticated: error !== 'invalid_client' };
  const param = text((ctx.oidc?.params as { client_id?: unknown } | undefined)?.client_id);
  if (param) return { clientId: param, authenticated: false };
  const credentials = /^basic\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
  if (credentials) {
    const user = Buffer.from(credentials, 'base64').toString('utf8').split(':')[0];
    try {
      return { clientId: text(decodeURIComponent(user ?? '')), authenticated: false };
    } catch {
      return { authenticated: false };
    }
  }
  return { authenticated: false };
}

/**
 * Issue 12 §2: every 4xx from the token endpoint is logged (info) and audited (`token.failed`)
 * with the precise reason — oidc-provider's error_detail ("PKCE verification failed",
 * "authorization code is expired", "redirect_uri mismatch", …) or description — the client id and
 * the grant type. The response itself stays as RFC 6749 §5.2 shapes it.
 *
 * oidc-provider's `grant.error` event carries the error object (with error_detail); failures
 * Gatehouse's own middleware makes after it (a lost refresh rotation) are read from the final
 * response. The middleware returns at once for a 2xx, so a successful token request pays one
 * comparison.
 */
export function recordTokenFailures(
  provider: Provider,
  deps: { logger: Logger; audit?: AuditLog /** Given, other requests pass straight through. */; tokenPath?: string },
): void {
  const fromProvider = new WeakMap<object, Failure>();

  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: ErrorLike) => {
    const error = text(err?.error);
    const detail = text(err.error_detail);
    if (error)
      fromProvider.set(ctx, {
        error,
        description: text(err.error_description),
        detail: detail && (HINTS[detail] ?? detail),
      });
  });

  const { tokenPath } = deps;
  provider.use((ctx, next) =>
    !tokenPath || (ctx.method === 'POST' && routesTo(ctx.path, tokenPath)) ? recordFailure(ctx, next) : next(),
  );
  async function recordFailure(ctx: Parameters<Parameters<Provider['use']>[0]>[0], next: () => Promise<void>) {
    await next();
    if (ctx.status < 400 || ctx.status >= 500) return;
    const c = ctx as unknown as KoaContextWithOIDC;
    // By route, not path: /Token and /token/ reach the same endpoint.
    if (c.oidc?.route !== 'token') return;
    const body = (ctx.body && typeof ctx.body === 'object' ? ctx.body : {}) as ErrorLike;
    const seen = fromProvider.get(ctx);
    // The body's error code is final (a middleware may have corrected it, e.g. unauthorized_client).
    const failure: Failure = {
      error: text(body.error) ?? seen?.error ?? 'unknown',
      description: text(body.error_description) ?? seen?.description,
      detail: seen?.detail,
    };
    record(c, failure);
  }

  function record(ctx: KoaContextWithOIDC, failure: Failure): void {
    const grantType =
      text((ctx.oidc?.params as { grant_type?: unknown } | undefined)?.grant_type) ??
      text((ctx.request as { body?: { grant_type?: unknown } }).body?.grant_type);
    const { clientId, authenticated } = presentedClientId(ctx, failure.error);
    const requestId = (ctx.req.headers['x-request-id'] as string | undefined) || undefined;
    // The most precise words available: the detail says which check failed where the description is generic.
    const reason =
      failure.detail && failure.detail !== failure.description
        ? failure.description
          ? `${failure.description}: ${failure.detail}`
          : failure.detail
        : (failure.description ?? failure.error);
    const data: Record<string, unknown> = {
      error: failure.error,
      reason,
      grant_type: grantType ?? null,
      status: ctx.status,
    };
    deps.logger.info(
      { event: 'token.failed', ...data, client_id: clientId ?? null, requestId },
      `token request failed: ${reason}`,
    );
    deps.audit?.record({
      type: 'token.failed',
      actor: authenticated ? `client:${clientId}` : 'anonymous',
      subject: (ctx.oidc?.entities as { Account?: { accountId?: string } } | undefined)?.Account?.accountId,
      clientId,
      ip: ctx.ip || undefined,
      userAgent: ctx.req.headers['user-agent'] || undefined,
      requestId,
      data,
    });
  }
}
