import Koa from 'koa';
import Router from '@koa/router';
import type { Clients } from '../../domain/clients/clients.js';
import type { Users } from '../../domain/accounts/users.js';
import type { UserSessions } from '../../domain/accounts/user-sessions.js';
import type { AdminTokenVerifier } from '../../domain/admin/admin-api-resource.js';
import type { Resources } from '../../domain/resources/resources.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { httpMetrics, metricsEndpoint } from '../middleware/http-metrics.js';
import { openApiRoute } from './openapi.js';
import { ADMIN_OPERATIONS } from './routes/admin-operations.js';
import { jsonBody } from '../middleware/body-parsers.js';
import { jsonErrors } from '../middleware/error-handler.js';
import { requestContext } from '../middleware/request-context.js';
import { adminAuth } from './admin-auth.js';
import { rejectNulInUrl } from './validate.js';
import { clientsRoutes } from './routes/clients-routes.js';
import { resourcesRoutes } from './routes/resources-routes.js';
import { usersRoutes } from './routes/users-routes.js';
import { userSessionsRoutes } from './routes/user-sessions-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { rolesRoutes } from './routes/roles-routes.js';
import { keysRoutes, type KeysRoutesDeps } from './routes/keys-routes.js';
import type { Authorization } from '../../domain/authorization/authorization.js';
import type { AuditTrail } from '../../domain/audit/audit-log.js';
import type { Factors } from '../../domain/authn/factors.js';
import type { DomainEvents } from '../../domain/events/domain-events.js';
import { userFactorsRoutes } from './routes/user-factors-routes.js';
import { outboxRoutes } from './routes/outbox-routes.js';
import type { OutboxRepository } from '../../domain/mail/mail.js';
import { userLockoutRoutes } from './routes/user-lockout-routes.js';
import type { AccountLockout } from '../../domain/authn/account-lockout.js';
import type { LinkedIdentities } from '../../domain/federation/linked-identities.js';
import { userIdentitiesRoutes } from './routes/user-identities-routes.js';
import type { Connections } from '../../domain/federation/connections.js';
import { connectionsRoutes } from './routes/connections-routes.js';

/** RFC 7591-sized bodies are small; 1 MiB leaves room for inline JWKS. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AdminAppDeps {
  adminKey: string;
  clients: Clients;
  users: Users;
  resources: Resources;
  userSessions: UserSessions;
  /** Roles and permissions (/admin/roles, role assignments, direct grants); not served when omitted. */
  authorization?: Authorization;
  /** Checks access tokens for urn:gatehouse:admin; without it only the bootstrap key is accepted. */
  verifyAdminToken?: AdminTokenVerifier;
  logger: Logger;
  /** Served at GET /metrics (no admin key) and fed with admin request metrics; none when omitted. */
  metrics?: Metrics;
  /** Signing keys (/admin/keys); not served when omitted. */
  keys?: Omit<KeysRoutesDeps, 'audit'>;
  /** Admin changes and auth failures are recorded, and /admin/audit-events served; neither when omitted. */
  audit?: AuditTrail;
  /** Users' second factors (/admin/users/:id/factors); not served when omitted. */
  factors?: Factors;
  /** The domain-events bus (audit, logs, metrics subscribe): factor removals are emitted on it. */
  events?: DomainEvents;
  /** The email outbox (/admin/outbox); not served when omitted. */
  outbox?: Pick<OutboxRepository, 'list'>;
  /** Per-account password limits: shown on GET /admin/users/:id, cleared by POST /admin/users/:id/unlock. */
  lockout?: AccountLockout;
  /** Users' linked upstream identities (/admin/users/:id/identities); not served when omitted. */
  linkedIdentities?: LinkedIdentities;
  /** Upstream identity providers (/admin/connections) and the ISSUER their callback URLs are under. */
  connections?: { connections: Connections; issuer: string };
}

/** The admin port: JSON only, bearer-key auth, never the provider. */
export function createAdminApp(deps: AdminAppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(deps.logger));
  app.use(async (ctx, next) => {
    await next();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
  });
  if (deps.metrics) app.use(httpMetrics(deps.metrics, 'admin'));
  app.use(jsonErrors);
  // Before the key check: Prometheus scrapers on the operator network carry no admin key.
  if (deps.metrics) app.use(metricsEndpoint(deps.metrics));
  app.use(adminAuth(deps.adminKey, deps.verifyAdminToken, deps.audit));
  app.use(rejectNulInUrl);
  app.use(jsonBody(BODY_LIMIT_BYTES));

  const r = new Router({ prefix: '/admin' });

  clientsRoutes(r, deps.clients, deps.audit);
  usersRoutes(r, deps.users, deps.audit, deps.lockout);
  if (deps.lockout && deps.events) userLockoutRoutes(r, deps.users, deps.lockout, deps.events);
  userSessionsRoutes(r, deps.userSessions, deps.events);
  if (deps.factors && deps.events) userFactorsRoutes(r, deps.users, deps.factors, deps.events);
  if (deps.linkedIdentities) userIdentitiesRoutes(r, deps.users, deps.linkedIdentities);
  if (deps.connections) connectionsRoutes(r, deps.connections.connections, deps.connections.issuer, deps.audit);
  resourcesRoutes(r, deps.resources, deps.audit);
  if (deps.authorization) rolesRoutes(r, deps.authorization, deps.audit);
  if (deps.keys) keysRoutes(r, { ...deps.keys, audit: deps.audit });
  if (deps.audit) auditRoutes(r, deps.audit);
  if (deps.outbox) outboxRoutes(r, deps.outbox);

  openApiRoute(r, ADMIN_OPERATIONS, { title: 'Gatehouse admin API', version: '1' });
  app.use(r.routes());
  app.use(r.allowedMethods({ throw: true }));
  return app;
}
