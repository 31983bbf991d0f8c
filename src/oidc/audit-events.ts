import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../domain/audit/audit-log.js';
import type { AuditRequestContext } from '../domain/audit/audit-event.js';
import { REFRESH_TOKEN_REUSED, RefreshRotationLost } from './refresh-reuse.js';
import { routesTo } from './route-path.js';

/** Token response members whose presence (never value) an audit event notes. */
const ISSUED_MEMBERS = ['access_token', 'refresh_token', 'id_token'] as const;

type Entities = {
  Account?: { accountId?: string };
  Grant?: { accountId?: string; jti?: string };
  RefreshToken?: { accountId?: string; consumed?: unknown; grantId?: string };
  AccessToken?: { accountId?: string; clientId?: string };
  ClientCredentials?: { clientId?: string };
};

const entitiesOf = (ctx: KoaContextWithOIDC) => (ctx.oidc?.entities ?? {}) as Entities;

/** Node keeps one value for user-agent and joins repeated x-request-id headers, so both are strings. */
function requestOf(ctx: KoaContextWithOIDC): AuditRequestContext {
  const headers = ctx.req.headers;
  return {
    ip: ctx.ip || undefined,
    userAgent: headers['user-agent'] || undefined,
    requestId: (headers['x-request-id'] as string | undefined) || undefined,
  };
}

/**
 * Protocol events into the audit log: tokens issued, refresh token reuse, revocations, logouts.
 * The token and revocation outcomes are read by a middleware (installed before the token request
 * scope) because only the final status is true: a rotation that loses a concurrent race is turned
 * into `invalid_grant` after oidc-provider's `grant.success` has fired. No token value is recorded.
 */
export function auditProtocolEvents(
  provider: Provider,
  audit: AuditLog,
  /** Given, a request to any other path passes straight through. */
  paths?: { token: string; revocation: string },
): void {
  provider.use((ctx, next) => {
    if (ctx.method !== 'POST') return next();
    if (paths && !routesTo(ctx.path, paths.token) && !routesTo(ctx.path, paths.revocation)) return next();
    return next().then(() => {
      // The route oidc-provider resolved (whatever the path's spelling), not a comparison of ctx.path.
      const c = ctx as unknown as KoaContextWithOIDC;
      const route = c.oidc?.route;
      if (route !== 'token' && route !== 'revocation') return;
      const clientId = c.oidc.client?.clientId;
      if (ctx.status !== 200 || !clientId) return;
      if (route === 'token') recordTokenIssued(c, clientId);
      else recordRevocation(c, clientId);
    });
  });

  // On the token endpoint's every success: built directly, without spreads or intermediate arrays.
  function recordTokenIssued(ctx: KoaContextWithOIDC, clientId: string): void {
    const entities = entitiesOf(ctx);
    const body = (ctx.body && typeof ctx.body === 'object' ? ctx.body : {}) as Record<string, unknown>;
    const data: Record<string, unknown> = { grant_type: String(ctx.oidc.params?.grant_type ?? '') };
    if (typeof body.scope === 'string') data.scope = body.scope;
    const issued: string[] = [];
    for (const member of ISSUED_MEMBERS) if (typeof body[member] === 'string') issued.push(member);
    data.issued = issued;
    const request = requestOf(ctx);
    audit.record({
      type: 'token.issued',
      actor: `client:${clientId}`,
      subject: entities.Account?.accountId ?? entities.Grant?.accountId,
      clientId,
      ip: request.ip,
      userAgent: request.userAgent,
      requestId: request.requestId,
      data,
    });
  }

  function recordRevocation(ctx: KoaContextWithOIDC, clientId: string): void {
    const entities = entitiesOf(ctx);
    // Revocation answers 200 whether or not anything was revoked (RFC 7009 §2.2): record only a
    // token that was found and that this client may revoke (the allowedPolicy in provider.ts).
    const [kind, token] =
      (['RefreshToken', 'AccessToken', 'ClientCredentials'] as const)
        .map((k) => [k, entities[k] as { accountId?: string; clientId?: string } | undefined] as const)
        .find(([, t]) => t) ?? [];
    if (!kind || token?.clientId !== clientId) return;
    audit.record({
      type: 'token.revoked',
      actor: `client:${clientId}`,
      subject: token.accountId,
      clientId,
      ...requestOf(ctx),
      data: { token_type: kind, via: 'revocation' },
    });
  }

  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: Error) => {
    if (
      !(err instanceof errors.InvalidGrant) ||
      (err as { error_detail?: string }).error_detail !== REFRESH_TOKEN_REUSED
    )
      return;
    const refreshToken = entitiesOf(ctx).RefreshToken;
    // A token that was already consumed is reuse, and so is one a concurrent request consumed
    // first (a lost rotation race): both revoked the family. A token that was merely not found is not.
    if (!refreshToken || (!refreshToken.consumed && !(err instanceof RefreshRotationLost))) return;
    const clientId = ctx.oidc?.client?.clientId;
    audit.record({
      type: 'refresh.reuse_detected',
      actor: clientId ? `client:${clientId}` : 'anonymous',
      subject: refreshToken.accountId,
      clientId,
      ...requestOf(ctx),
      data: { grant_id: refreshToken.grantId, family_revoked: true },
    });
  });

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    // The revocation endpoint's own event is recorded above, with the token type.
    if (ctx.oidc?.route === 'revocation') return;
    const entities = entitiesOf(ctx);
    const session = ctx.oidc?.session as { accountId?: string } | undefined;
    const clientId = ctx.oidc?.client?.clientId;
    const subject = entities.Grant?.accountId ?? entities.RefreshToken?.accountId ?? session?.accountId;
    audit.record({
      type: 'token.revoked',
      actor: ctx.oidc?.route === 'token' && clientId ? `client:${clientId}` : subject ? `user:${subject}` : 'system',
      subject,
      clientId,
      ...requestOf(ctx),
      data: { grant_id: grantId, via: ctx.oidc?.route ?? 'unknown' },
    });
  });

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const accountId = (ctx.oidc?.session as { accountId?: string } | undefined)?.accountId;
    const clientId = ctx.oidc?.client?.clientId;
    audit.record({
      type: 'logout',
      actor: accountId ? `user:${accountId}` : 'anonymous',
      subject: accountId,
      clientId,
      ...requestOf(ctx),
      data: {},
    });
  });
}
