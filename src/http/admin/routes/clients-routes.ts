import type Router from '@koa/router';
import { z } from 'zod';
import { clientMetadataSchema } from '../../../domain/clients/client-metadata.js';
import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  MAX_SECRET_OVERLAP_SECONDS,
  type Clients,
} from '../../../domain/clients/clients.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { recordAdminChange } from '../admin-audit.js';
import { pageParams, parseBody } from '../validate.js';

function clientResponse(client: object, clientSecret?: string) {
  return { ...client, ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}) };
}

/** POST /admin/clients/:id/secret: how long the outgoing secret keeps working (seconds; default a day). */
export const rotateSecretSchema = z
  .object({
    overlap_seconds: z.number().int().min(0).max(MAX_SECRET_OVERLAP_SECONDS).optional(),
  })
  .strict();

/** /admin/clients: RFC 7591 registration by admins; the secret is shown once. */
export function clientsRoutes(r: Router, clients: Clients, audit?: AuditLog): void {
  r.post('/clients', async (ctx) => {
    const input = parseBody(clientMetadataSchema, ctx.request.body, 'invalid_client_metadata');
    const { client, clientSecret } = await clients.create(input);
    ctx.state.log.info({ event: 'client.created', clientId: client.client_id }, 'client created');
    recordAdminChange(audit, ctx, { type: 'client.created', clientId: client.client_id, data: { after: client } });
    ctx.status = 201;
    ctx.set('Location', `/admin/clients/${encodeURIComponent(client.client_id)}`);
    ctx.body = clientResponse(client, clientSecret);
  });
  r.get('/clients', async (ctx) => {
    const page = pageParams(ctx.query);
    const items = await clients.list(page);
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.client_id : null };
  });
  r.get('/clients/:id', async (ctx) => {
    ctx.body = await clients.get(ctx.params.id!);
  });
  r.patch('/clients/:id', async (ctx) => {
    const input = parseBody(clientMetadataSchema.partial(), ctx.request.body, 'invalid_client_metadata');
    const before = await clients.get(ctx.params.id!);
    const { client, clientSecret } = await clients.update(ctx.params.id!, input);
    ctx.state.log.info({ event: 'client.updated', clientId: client.client_id }, 'client updated');
    recordAdminChange(audit, ctx, {
      type: 'client.updated',
      clientId: client.client_id,
      data: { before, after: client, changed: Object.keys(input), ...(clientSecret ? { secret_issued: true } : {}) },
    });
    ctx.body = clientResponse(client, clientSecret);
  });
  r.post('/clients/:id/secret', async (ctx) => {
    // An empty body means the default overlap.
    const input = parseBody(rotateSecretSchema, ctx.request.body ?? {});
    const overlapSeconds = input.overlap_seconds ?? DEFAULT_SECRET_OVERLAP_SECONDS;
    const { clientSecret, previousExpiresAt } = await clients.rotateSecret(ctx.params.id!, overlapSeconds);
    ctx.state.log.info({ event: 'client.secret_rotated', clientId: ctx.params.id }, 'client secret rotated');
    recordAdminChange(audit, ctx, {
      type: 'client.secret_rotated',
      clientId: ctx.params.id!,
      data: { overlap_seconds: overlapSeconds, previous_secret_expires_at: previousExpiresAt },
    });
    ctx.body = {
      client_id: ctx.params.id,
      ...clientResponse({}, clientSecret),
      previous_secret_expires_at: previousExpiresAt,
    };
  });
  r.delete('/clients/:id', async (ctx) => {
    const before = await clients.get(ctx.params.id!);
    await clients.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'client.deleted', clientId: ctx.params.id }, 'client deleted');
    recordAdminChange(audit, ctx, { type: 'client.deleted', clientId: before.client_id, data: { before } });
    ctx.status = 204;
  });
}
