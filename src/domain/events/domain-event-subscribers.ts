import type { AuditEventInput } from '../audit/audit-event.js';
import type { DomainEvent, EventSubscriber } from './domain-events.js';

/** The part of the audit log the subscriber uses. */
export interface AuditRecorder {
  record(event: AuditEventInput): void;
}

/** The part of a pino logger the subscriber uses (structural: domain imports no logger). */
export interface EventLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The metrics the subscriber feeds. */
export interface SignInMetrics {
  loginFailed(reason: string): void;
}

/** Every domain event as one audit record: actor, subject and client from the event, details in `data`. */
export function auditSubscriber(audit: AuditRecorder): EventSubscriber {
  return (event, origin) => {
    const record = toAudit(event);
    if (record) audit.record({ ...record, ...origin });
  };
}

const actorOf = (by: string, accountId: string) =>
  by === 'user' ? (`user:${accountId}` as const) : (by as `admin:${string}` | 'system');

/** undefined: an operational event that is logged, not audited (the outbox's progress). */
function toAudit(event: DomainEvent): AuditEventInput | undefined {
  switch (event.type) {
    case 'login.succeeded':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        clientId: event.clientId,
        data: {
          amr: event.amr,
          acr: event.acr,
          steps: event.methods,
          ...(event.upstream ? { upstream: event.upstream } : {}),
        },
      };
    case 'login.failed':
      return {
        type: event.type,
        actor: 'anonymous',
        subject: event.accountId,
        clientId: event.clientId,
        data: { reason: event.reason, step: event.method },
      };
    case 'user.registered':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        clientId: event.clientId,
        ...(event.connectionId ? { data: { connection_id: event.connectionId } } : {}),
      };
    case 'identity.linked':
    case 'identity.unlinked':
      return {
        type: event.type,
        actor:
          event.by === 'user' || event.by === 'jit' ? `user:${event.accountId}` : actorOf(event.by, event.accountId),
        subject: event.accountId,
        data: { connection_id: event.connectionId, identity_id: event.identityId, by: event.by },
      };
    case 'federation.failed':
      return {
        type: event.type,
        actor: 'anonymous',
        subject: event.accountId,
        data: { connection_id: event.connectionId, reason: event.reason },
      };
    case 'consent.granted':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        clientId: event.clientId,
        data: {
          scope: event.scope,
          claims: event.claims,
          resource_scopes: event.resourceScopes,
          grant_id: event.grantId,
          automatic: event.automatic,
        },
      };
    case 'factor.enrolled':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        clientId: event.clientId,
        data: { factor: event.factor, credential_id: event.credentialId },
      };
    case 'factor.removed':
      return {
        type: event.type,
        actor: event.by === 'user' ? `user:${event.accountId}` : (event.by as `admin:${string}`),
        subject: event.accountId,
        data: { factor: event.factor, ...(event.credentialId ? { credential_id: event.credentialId } : {}) },
      };
    case 'recovery_code.used':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        data: { remaining: event.remaining },
      };
    case 'passkey.counter_regression':
      return {
        type: event.type,
        actor: 'anonymous',
        subject: event.accountId,
        data: { credential_id: event.credentialId },
      };
    case 'second_factor.throttled':
      return {
        type: event.type,
        actor: 'anonymous',
        subject: event.accountId,
        data: { retry_after_seconds: event.retryAfterSeconds },
      };
    case 'session.revoked':
      return {
        type: event.type,
        actor: event.by === 'user' ? `user:${event.accountId}` : (event.by as `admin:${string}`),
        subject: event.accountId,
        data: {
          ...(event.sessionId ? { session_id: event.sessionId } : {}),
          ...(event.count !== undefined ? { count: event.count } : {}),
        },
      };
    case 'grant.revoked_by_user':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        clientId: event.clientId,
      };
    case 'email.verified':
    case 'password.reset':
    case 'email.changed':
    case 'new_device.signed_in':
      return { type: event.type, actor: `user:${event.accountId}`, subject: event.accountId };
    case 'password.changed':
      return {
        type: event.type,
        actor: `user:${event.accountId}`,
        subject: event.accountId,
        data: { other_sessions_revoked: event.otherSessionsRevoked },
      };
    case 'account.deleted':
      return { type: event.type, actor: actorOf(event.by, event.accountId), subject: event.accountId };
    case 'account.locked':
      return {
        type: event.type,
        actor: 'system',
        subject: event.accountId,
        data: { failed_attempts: event.failedAttempts },
      };
    case 'account.unlocked':
      return {
        type: event.type,
        actor: event.by === 'reset' ? `user:${event.accountId}` : actorOf(event.by, event.accountId),
        subject: event.accountId,
        data: { by: event.by === 'reset' ? 'password_reset' : 'admin' },
      };
    case 'email.send_throttled':
      return {
        type: event.type,
        actor: 'anonymous',
        subject: event.accountId,
        data: { kind: event.kind, retry_after_seconds: event.retryAfterSeconds },
      };
    case 'mail.queued':
    case 'mail.sent':
    case 'mail.failed':
      return undefined;
  }
}

/**
 * Sign-in outcomes in the logs (never codes or secrets: events carry none). `messages` replaces
 * the message of some event types (default: the type), e.g. to tell where queued mail is read.
 */
export function logSubscriber(
  log: EventLog,
  messages: Partial<Record<DomainEvent['type'], string>> = {},
): EventSubscriber {
  return (event, origin) => {
    const fields = { event: event.type, requestId: origin.requestId, ...loggedFields(event) };
    const message = messages[event.type] ?? event.type;
    if (
      event.type === 'passkey.counter_regression' ||
      event.type === 'second_factor.throttled' ||
      event.type === 'account.locked' ||
      event.type === 'email.send_throttled' ||
      event.type === 'mail.failed'
    )
      log.warn(fields, message);
    else log.info(fields, message);
  };
}

function loggedFields(event: DomainEvent): Record<string, unknown> {
  switch (event.type) {
    case 'login.failed':
      return { userId: event.accountId, method: event.method, reason: event.reason };
    case 'login.succeeded':
      return { userId: event.accountId, methods: event.methods, acr: event.acr };
    case 'consent.granted':
      return { userId: event.accountId, clientId: event.clientId };
    case 'mail.queued':
      return { messageId: event.messageId, template: event.template };
    case 'mail.sent':
      return { messageId: event.messageId, attempts: event.attempts };
    case 'mail.failed':
      return { messageId: event.messageId, attempts: event.attempts, error: event.error, retryAt: event.retryAt };
    case 'email.send_throttled':
      return { userId: event.accountId, kind: event.kind };
    default:
      return { userId: event.accountId };
  }
}

/** Failed sign-ins by reason (gatehouse_login_failures_total). */
export function metricsSubscriber(metrics: SignInMetrics): EventSubscriber {
  return (event) => {
    if (event.type === 'login.failed') metrics.loginFailed(event.reason);
    else if (event.type === 'second_factor.throttled') metrics.loginFailed('rate_limited');
  };
}
