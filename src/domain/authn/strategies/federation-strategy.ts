import { z } from 'zod';
import type { StoredConnection } from '../../federation/connection.js';
import { FEDERATION_COOKIE, type FederatedSignIn } from '../../federation/federated-sign-in.js';
import type { AuthenticationStrategy, BeginResult, Completion, StrategyContext, StrategyId } from '../strategy.js';

/**
 * "Continue with <name>": one upstream connection (OIDC, OAuth 2.0 or SAML) as a first-factor
 * strategy. `begin` sends the browser to the upstream; its answer arrives out of band at
 * /federation/:slug/callback (the SAML ACS and form_post callbacks bounce there), which leaves
 * the outcome for `poll` on this interaction's page.
 */
export class FederationStrategy implements AuthenticationStrategy<Record<string, never>> {
  readonly id: StrategyId;
  readonly stage = 'first' as const;
  readonly input = z.object({}).strict() as unknown as z.ZodType<Record<string, never>>;

  constructor(
    private readonly connection: StoredConnection,
    private readonly federation: FederatedSignIn,
  ) {
    this.id = `${connection.type}:${connection.slug}`;
  }

  async available(ctx: StrategyContext): Promise<boolean> {
    return this.connection.enabled && !ctx.state.accountId;
  }

  async begin(ctx: StrategyContext): Promise<BeginResult> {
    let started: { url: string; binding: string };
    try {
      started = await this.federation.begin(this.connection, ctx.interactionUid);
    } catch {
      // Discovery failed (the upstream is down or misconfigured): say so on the sign-in page.
      this.federation.beginFailed(this.connection, ctx.origin);
      const message = `${this.connection.name} cannot be reached right now. Try again later, or use another way.`;
      return { kind: 'failed', reason: 'federation_failed', status: 400, message };
    }
    return {
      kind: 'redirect',
      location: started.url,
      bindBrowser: {
        name: FEDERATION_COOKIE,
        value: started.binding,
        path: '/federation/',
        maxAgeSeconds: this.federation.bindingTtlSeconds,
      },
    };
  }

  /** Nothing is submitted to us: the proof comes from the callback. */
  async complete(): Promise<Completion> {
    return { kind: 'failed', reason: 'missing_credentials', status: 400, message: 'Use the button to sign in.' };
  }

  async poll(ctx: StrategyContext): Promise<Completion | undefined> {
    const outcome = await this.federation.takeOutcome(ctx.interactionUid, this.connection.id);
    if (!outcome) return undefined;
    if (outcome.kind === 'authenticated')
      return { kind: 'authenticated', accountId: outcome.accountId, proof: outcome.proof };
    if (outcome.kind === 'link')
      return {
        kind: 'failed',
        reason: 'link_required',
        status: 400,
        message: outcome.message,
        pendingLink: outcome.pending,
      };
    return { kind: 'failed', reason: 'federation_failed', status: 400, message: outcome.message };
  }

  async view(): Promise<Record<string, unknown>> {
    return { name: this.connection.name };
  }
}
