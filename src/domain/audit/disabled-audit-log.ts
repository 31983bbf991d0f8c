import type { StoredAuditEvent } from './audit-event.js';
import type { AuditTrail } from './audit-log.js';

/**
 * The audit log when AUDIT_LOG_ENABLED=false: every emitter keeps calling record(), nothing is
 * kept, and the admin API lists an empty log rather than failing.
 */
export class DisabledAuditLog implements AuditTrail {
  record(): void {}

  async list(): Promise<StoredAuditEvent[]> {
    return [];
  }

  async close(): Promise<void> {}
}
