import type { Context } from 'koa';
import type { NextStep } from '../../../domain/authn/authentication-policy.js';
import type { SecondFactorLimiter } from '../../../domain/authn/second-factor-limiter.js';
import { applyProof, type SignInState } from '../../../domain/authn/sign-in-state.js';
import type {
  AuthenticationStrategy,
  Completion,
  StrategyContext,
  StrategyId,
} from '../../../domain/authn/strategy.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import type { PageFailure } from './sign-in-pages.js';
import type { PollDeps } from './sign-in-poll.js';
import { signInState, withStaySignedIn } from './sign-in-progress.js';

/** What completing a strategy on its form needs from the SignInController. */
export interface SubmitDeps {
  kit: InteractionKit;
  events: DomainEvents;
  /** Wrong second factors per account; no limit when omitted. */
  secondFactorLimiter?: SecondFactorLimiter;
  /** A fixed strategy with this id (upstream connections only begin, never complete on a form). */
  strategy(id: string): AuthenticationStrategy | undefined;
  /** What the policy asks for next (the controller's `next`). */
  next(ctx: Context, d: Details, state: SignInState): Promise<NextStep>;
  /** The StrategyContext of this request and step (the controller's `context`). */
  context(ctx: Context, d: Details, state: SignInState, step?: NextStep): StrategyContext;
  /** The page of the current step, with a failure on it (the controller's `show`). */
  show(ctx: Context, d: Details, failure?: PageFailure): Promise<void>;
  /** Emits login.failed (the controller's `failed`). */
  failed: PollDeps['failed'];
  /** Continues the sign-in (the controller's `progress`). */
  progress(ctx: Context, d: Details, state: SignInState): Promise<void>;
}

/** POST /:uid/login/:strategy: the strategy completes, failures are shown on the same page. */
export async function submitStep(
  deps: SubmitDeps,
  ctx: Context,
  d: Details,
  strategyId: string,
  form: Record<string, string>,
): Promise<void> {
  const strategy = deps.strategy(strategyId);
  if (!strategy) throw new GatehouseError('not_found', 'no such sign-in method');
  const state = signInState(d);
  const step = await deps.next(ctx, d, state);
  const allowed =
    step.next === 'first_factor'
      ? strategy.stage !== 'second'
      : step.next === 'second_factor' && step.methods.includes(strategy.id);
  const sctx = deps.context(ctx, d, state, step);
  if (!allowed || !(await strategy.available(sctx)))
    throw new GatehouseError('invalid_request', 'unexpected sign-in step');

  const secondFactor = step.next === 'second_factor' && state.accountId !== undefined;
  if (secondFactor && deps.secondFactorLimiter) {
    const verdict = await deps.secondFactorLimiter.check(state.accountId!);
    if (!verdict.allowed) return tooManySecondFactors(deps, ctx, d, state.accountId!, strategy.id, verdict);
  }

  const parsed = strategy.input.safeParse(form);
  const completion: Completion = parsed.success
    ? await strategy.complete(parsed.data, sctx)
    : { kind: 'failed', reason: 'missing_credentials', status: 400, message: 'Fill in the form.' };
  if (completion.kind === 'redirect') {
    ctx.status = 303;
    ctx.redirect(completion.location);
    return;
  }
  if (completion.kind === 'failed') {
    deps.failed(ctx, d, strategy.id, completion, state);
    if (secondFactor && deps.secondFactorLimiter) {
      const verdict = await deps.secondFactorLimiter.failed(state.accountId!);
      if (!verdict.allowed) return tooManySecondFactors(deps, ctx, d, state.accountId!, strategy.id, verdict);
    }
    return showFailure(deps, ctx, d, strategy.id, completion, form);
  }
  const proven = applyProof(state, strategy.id, completion.accountId, completion.proof);
  await deps.progress(ctx, d, step.next === 'first_factor' ? withStaySignedIn(proven, form) : proven);
}

/** The same page again with the refusal, keeping what was typed and the "Stay signed in" tick. */
function showFailure(
  deps: SubmitDeps,
  ctx: Context,
  d: Details,
  method: StrategyId,
  completion: Extract<Completion, { kind: 'failed' }>,
  form: Record<string, string>,
): Promise<void> {
  if (completion.retryAfterSeconds) ctx.set('Retry-After', String(completion.retryAfterSeconds));
  return deps.show(ctx, d, {
    status: completion.status,
    message: completion.message,
    values: { ...completion.values, ...(form.remember ? { remember: form.remember } : {}) },
    method,
  });
}

function tooManySecondFactors(
  deps: SubmitDeps,
  ctx: Context,
  d: Details,
  accountId: string,
  method: StrategyId,
  verdict: { retryAfterSeconds: number },
): Promise<void> {
  deps.events.emit(
    { type: 'second_factor.throttled', accountId, retryAfterSeconds: verdict.retryAfterSeconds },
    deps.kit.origin(ctx),
  );
  ctx.set('Retry-After', String(verdict.retryAfterSeconds));
  const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
  return deps.show(ctx, d, {
    status: 429,
    message: `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    method,
  });
}
