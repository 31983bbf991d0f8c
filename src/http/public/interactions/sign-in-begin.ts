import type Router from '@koa/router';
import type { Context } from 'koa';
import type { NextStep } from '../../../domain/authn/authentication-policy.js';
import type { SignInState } from '../../../domain/authn/sign-in-state.js';
import { FederationStrategy } from '../../../domain/authn/strategies/federation-strategy.js';
import type { AuthenticationStrategy, StrategyContext } from '../../../domain/authn/strategy.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import type { PageFailure } from './sign-in-pages.js';
import { STATE_KEY, signInState, withStaySignedIn } from './sign-in-progress.js';

/** What starting a strategy needs from the SignInController. */
export interface BeginDeps {
  kit: InteractionKit;
  /** Upstream connections, for home-realm discovery; none when omitted. */
  federation?: FederatedSignIn;
  /** The sign-in throttle, run before anything reads storage. */
  throttled: (ctx: Context, next: () => Promise<unknown>) => Promise<void>;
  /** The interaction of this request while its login prompt is open. */
  openLogin(ctx: Context): Promise<Details>;
  /** The strategy with this id, fixed or an upstream connection's (the controller's `strategy`). */
  strategy(id: string): Promise<AuthenticationStrategy | undefined>;
  /** The StrategyContext of this request (the controller's `context`). */
  context(ctx: Context, d: Details, state: SignInState): StrategyContext;
  /** What the policy asks for next (the controller's `next`). */
  next(ctx: Context, d: Details, state: SignInState): Promise<NextStep>;
  /** The page of the current step, with a failure on it (the controller's `show`). */
  show(ctx: Context, d: Details, failure?: PageFailure): Promise<void>;
}

/**
 * POST /:uid/begin/:strategy: a strategy whose first step leaves this page (an upstream provider,
 * an emailed code or link). Home-realm discovery may send the email's domain to its connection instead.
 */
export function beginRoutes(router: Router, deps: BeginDeps): void {
  router.post('/:uid/begin/:strategy', deps.throttled, async (ctx) => {
    const d = await deps.openLogin(ctx);
    const form = ctx.request.body as Record<string, string>;
    deps.kit.checkCsrf(d, 'login', form);
    const strategy = await deps.strategy(String(ctx.params.strategy));
    if (!strategy?.begin) throw new GatehouseError('not_found', 'no such sign-in method');
    // "Continue with <name>" already names its connection: discovery is only for the other methods.
    if (!(strategy instanceof FederationStrategy) && (await homeRealm(deps, ctx, d, form))) return;
    await beginStrategy(deps, ctx, d, strategy);
  });
}

/**
 * Home-realm discovery on a first factor's form: an email of a connection's domain goes to that
 * connection (when no password was typed, or always with `enforce_sso`). True when it did.
 */
export async function homeRealm(
  deps: BeginDeps,
  ctx: Context,
  d: Details,
  form: Record<string, string>,
): Promise<boolean> {
  const federation = deps.federation;
  if (!federation || !form.email || signInState(d).accountId) return false;
  const home = await federation.homeRealm(form.email, Boolean(form.password));
  if (!home) return false;
  await beginStrategy(deps, ctx, d, new FederationStrategy(home, federation));
  return true;
}

/** After the checks: on to the strategy's redirect, or its refusal on the page. */
async function beginStrategy(
  deps: BeginDeps,
  ctx: Context,
  d: Details,
  strategy: AuthenticationStrategy,
): Promise<void> {
  const state = signInState(d);
  const sctx = deps.context(ctx, d, state);
  if (!strategy.begin || !(await strategy.available(sctx)))
    throw new GatehouseError('invalid_request', 'this sign-in method is not available now');
  const form = ctx.request.body as Record<string, string>;
  // "Stay signed in" on a first factor's form, kept for when the method comes back.
  if ((await deps.next(ctx, d, state)).next === 'first_factor')
    await deps.kit.remember(d, { [STATE_KEY]: withStaySignedIn(state, form) });
  const started = await strategy.begin(sctx, form);
  if (started.kind === 'failed') {
    if (started.retryAfterSeconds) ctx.set('Retry-After', String(started.retryAfterSeconds));
    return deps.show(ctx, d, { ...started, method: strategy.id });
  }
  if (started.bindBrowser) {
    const { name, value, path, maxAgeSeconds } = started.bindBrowser;
    const opts = { httpOnly: true, sameSite: 'lax', secure: ctx.secure, path, overwrite: true } as const;
    ctx.cookies.set(name, value, { ...opts, maxAge: maxAgeSeconds * 1000 });
  }
  ctx.status = 303;
  ctx.redirect(started.location);
}
