import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { RequestOrigin } from '../../../domain/events/domain-events.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { ProviderRef } from '../../../oidc/live-provider.js';
import { auditContext } from '../../middleware/audit-context.js';
import { clientWayOut, type ClientLike } from '../way-out.js';
import type { CsrfTokens } from './csrf.js';

export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
export type InteractionResult = Parameters<Provider['interactionResult']>[2];

/** The interaction's client as our pages read it (oidc-provider's Client with our extra metadata). */
export type InteractionClient = ClientLike & Record<string, unknown>;

/** What every interaction route needs from the provider, in one place (the only oidc-provider calls here). */
export interface InteractionKit {
  /** The interaction of this browser; it must be the one named in the path. */
  details(ctx: Context): Promise<Details>;
  /** Records the result and sends the browser back to the provider (303). */
  finish(ctx: Context, result: InteractionResult, options: { mergeWithLastSubmission: boolean }): Promise<void>;
  /** The interaction's client; also gives every error page from here on its "Back to <app>" link. */
  clientOf(ctx: Context, d: Details): Promise<InteractionClient | undefined>;
  /** Stores `patch` in the interaction's result (kept for its remaining lifetime). */
  remember(d: Details, patch: Record<string, unknown>): Promise<void>;
  /** Throws 403 unless the form carries this interaction's CSRF token for `form`. */
  checkCsrf(d: Details, form: string, body: Record<string, string>): void;
  origin(ctx: Context): RequestOrigin;
  csrf: CsrfTokens;
}

export function interactionKit(providers: ProviderRef, csrf: CsrfTokens): InteractionKit {
  return {
    csrf,
    async details(ctx) {
      const d = await providers.current.interactionDetails(ctx.req, ctx.res);
      if (d.uid !== ctx.params.uid) throw new GatehouseError('invalid_request', 'interaction mismatch');
      return d;
    },
    async finish(ctx, result, options) {
      const to = await providers.current.interactionResult(ctx.req, ctx.res, result, options);
      ctx.status = 303;
      ctx.redirect(to);
    },
    async clientOf(ctx, d) {
      const client = (await providers.current.Client.find(String(d.params.client_id))) as InteractionClient | undefined;
      ctx.state.wayOut = clientWayOut(client);
      return client;
    },
    async remember(d, patch) {
      d.result = { ...(d.result ?? {}), ...patch };
      await d.save(Math.max(1, (d.exp ?? 0) - Math.floor(Date.now() / 1000)));
    },
    checkCsrf(d, form, body) {
      if (!csrf.valid(d.uid, form, body.csrf))
        throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    },
    origin: auditContext,
  };
}
