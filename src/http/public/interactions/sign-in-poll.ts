import type { Context } from 'koa';
import { applyProof, type SignInState } from '../../../domain/authn/sign-in-state.js';
import type {
  AuthenticationStrategy,
  Completion,
  StrategyContext,
  StrategyId,
} from '../../../domain/authn/strategy.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import type { SignInPages } from './sign-in-pages.js';
import { STATE_KEY } from './sign-in-progress.js';

/** What polling an out-of-band strategy needs from the SignInController. */
export interface PollDeps {
  kit: InteractionKit;
  pages: SignInPages;
  /** The strategy with this id, fixed or an upstream connection's (the controller's `strategy`). */
  strategy(id: string): Promise<AuthenticationStrategy | undefined>;
  /** Emits login.failed (the controller's `failed`). */
  failed(
    ctx: Context,
    d: Details,
    method: StrategyId,
    completion: Extract<Completion, { kind: 'failed' }>,
    state: SignInState,
  ): void;
  /** Continues the sign-in (the controller's `progress`). */
  progress(ctx: Context, d: Details, state: SignInState): Promise<void>;
}

/**
 * GET /:uid?method=<id> of a strategy whose proof arrives out of band (a sign-in link opened
 * elsewhere, an upstream's callback): finishes the step when it has arrived, or shows why it
 * cannot. True when handled. `method`: the strategy to poll when not the query's (an IdP-initiated
 * SAML sign-in adopted by this interaction).
 */
export async function pollOutOfBand(
  deps: PollDeps,
  ctx: Context,
  d: Details,
  state: SignInState,
  sctx: StrategyContext,
  method = String(ctx.query.method ?? ''),
): Promise<boolean> {
  const strategy = await deps.strategy(method);
  if (!strategy?.poll || strategy.stage === 'second' || !(await strategy.available(sctx))) return false;
  const completion = await strategy.poll(sctx);
  if (!completion || completion.kind === 'redirect') return false;
  if (completion.kind === 'failed' && completion.pendingLink) {
    // Not a failure: the page asks the person to sign in to the existing account (progress links it).
    const waiting = { ...state, pendingLink: completion.pendingLink };
    await deps.kit.remember(d, { [STATE_KEY]: waiting });
    await deps.pages.firstFactor(ctx, d, { ...sctx, state: waiting }, { status: 200, message: completion.message });
  } else if (completion.kind === 'failed') {
    deps.failed(ctx, d, strategy.id, completion, state);
    await deps.pages.firstFactor(ctx, d, sctx, { ...completion, method: strategy.id });
  } else await deps.progress(ctx, d, applyProof(state, strategy.id, completion.accountId, completion.proof));
  return true;
}
