/**
 * What the audit log records. The set of event types is closed: a new kind of event is added
 * here first, so every emitter, the admin API filter and the stored rows agree on the names.
 */
export const AUDIT_EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'logout',
  'token.issued',
  'token.failed',
  'refresh.reuse_detected',
  'token.revoked',
  'consent.granted',
  'user.registered',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.password_changed',
  'client.created',
  'client.updated',
  'client.deleted',
  'client.secret_rotated',
  'resource.created',
  'resource.updated',
  'resource.deleted',
  'role.created',
  'role.updated',
  'role.deleted',
  'role.assigned',
  'role.unassigned',
  'permission.granted',
  'permission.revoked',
  'key.rotation_staged',
  'key.revoked',
  'admin.auth_failed',
  'factor.enrolled',
  'factor.removed',
  'recovery_code.used',
  'passkey.counter_regression',
  'second_factor.throttled',
  'session.revoked',
  'grant.revoked_by_user',
  'email.verified',
  'password.reset',
  'password.changed',
  'email.changed',
  'account.deleted',
  'account.locked',
  'account.unlocked',
  'email.send_throttled',
  'new_device.signed_in',
  'identity.linked',
  'identity.unlinked',
  'federation.failed',
  'connection.created',
  'connection.updated',
  'connection.deleted',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export function isAuditEventType(value: string): value is AuditEventType {
  return (AUDIT_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Who did it: `user:<id>`, `client:<id>`, `admin:key` (or an admin identity set by admin auth),
 * `anonymous` (an unauthenticated caller), `system`.
 */
export type AuditActor = `user:${string}` | `client:${string}` | `admin:${string}` | 'anonymous' | 'system';

/** Where a request came from; every field is optional because not every event has a request. */
export interface AuditRequestContext {
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/** One event as an emitter hands it to the log. `data` is details only: never secrets, tokens, codes or hashes. */
export interface AuditEventInput extends AuditRequestContext {
  type: AuditEventType;
  actor: AuditActor;
  /** The user the event is about (user id), when there is one. */
  subject?: string;
  clientId?: string;
  data?: Record<string, unknown>;
}

/** An event as queued: the time is taken when it is recorded, not when it is written. */
export interface AuditEvent extends AuditEventInput {
  occurredAt: Date;
  data: Record<string, unknown>;
}

/** An event as stored and listed by the admin API. */
export interface StoredAuditEvent {
  id: string;
  occurred_at: string;
  type: AuditEventType;
  actor: string;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}
