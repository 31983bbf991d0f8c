import type Router from '@koa/router';
import { z } from 'zod';
import { SIGNING_ALGS, type SigningKeys } from '../../../domain/keys/signing-keys.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { GatehouseError } from '../../../domain/errors.js';
import { recordAdminChange } from '../admin-audit.js';
import { parseBody } from '../validate.js';

/** POST /admin/keys/rotate. */
export const rotateKeysSchema = z
  .object({
    /** One algorithm; all three when omitted. */
    alg: z.enum(SIGNING_ALGS as [string, ...string[]]).optional(),
    /** Seconds the new key is published before it signs (≥ JWKS max-age + poll interval). */
    publish_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional(),
    /** Compromised key: revoke the signing key(s) now instead of staging (relying parties may briefly fail). */
    emergency: z.boolean().optional(),
  })
  .strict();

export interface KeysRoutesDeps {
  signingKeys: SigningKeys;
  /** Applies a change on this instance at once and notifies the others. */
  changed(): Promise<void>;
  audit?: AuditLog;
}

/** /admin/keys: the signing keys' life cycle (staged rotation, emergency revocation). */
export function keysRoutes(r: Router, deps: KeysRoutesDeps): void {
  const { signingKeys, audit } = deps;
  r.get('/keys', async (ctx) => {
    ctx.body = { items: await signingKeys.list() };
  });
  r.post('/keys/rotate', async (ctx) => {
    const input = parseBody(rotateKeysSchema, ctx.request.body ?? {});
    if (input.emergency) {
      if (input.publish_seconds !== undefined)
        throw new GatehouseError('invalid_request', 'publish_seconds does not apply to an emergency rotation');
      const current = (await signingKeys.list()).filter(
        (k) => k.state === 'current' && (!input.alg || k.alg === input.alg),
      );
      const results = [];
      for (const key of current) {
        const result = await signingKeys.revoke(key.kid);
        results.push(result);
        recordAdminChange(audit, ctx, {
          type: 'key.revoked',
          data: { kid: key.kid, alg: key.alg, emergency: true, replacement: result.replacement?.kid },
        });
      }
      await deps.changed();
      ctx.body = {
        items: results.flatMap((r) => (r.replacement ? [r.replacement] : [])),
        revoked: results.map((r) => r.revoked),
      };
      return;
    }
    const staged = await signingKeys.rotate({
      ...(input.alg ? { algs: [input.alg] } : {}),
      publishSeconds: input.publish_seconds,
    });
    for (const key of staged) {
      recordAdminChange(audit, ctx, {
        type: 'key.rotation_staged',
        data: { kid: key.kid, alg: key.alg, activated_at: key.activated_at },
      });
    }
    await deps.changed();
    ctx.status = 201;
    ctx.body = { items: staged };
  });
  r.post('/keys/:kid/revoke', async (ctx) => {
    const result = await signingKeys.revoke(ctx.params.kid!);
    recordAdminChange(audit, ctx, {
      type: 'key.revoked',
      data: { kid: result.revoked.kid, alg: result.revoked.alg, replacement: result.replacement?.kid },
    });
    await deps.changed();
    ctx.body = result;
  });
}
