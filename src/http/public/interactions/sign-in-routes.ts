import type Router from '@koa/router';
import type { Context } from 'koa';
import { type NextStep, nextStep, requiredAssurance } from '../../../domain/authn/authentication-policy.js';
import type { EnrolmentMethod, RecoveryCodeIssuer } from '../../../domain/authn/enrolment.js';
import type { Factors } from '../../../domain/authn/factors.js';
import type { SecondFactorLimiter } from '../../../domain/authn/second-factor-limiter.js';
import { applyProof, type SignInState } from '../../../domain/authn/sign-in-state.js';
import type { SignInThrottle } from '../../../domain/authn/sign-in-throttle.js';
import type {
  AuthenticationStrategy,
  Completion,
  StrategyContext,
  StrategyId,
} from '../../../domain/authn/strategy.js';
import type { PasswordResets } from '../../../domain/accounts/password-resets.js';
import type { Registrations } from '../../../domain/accounts/registrations.js';
import type { Users } from '../../../domain/accounts/users.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { Views } from '../../views.js';
import { renderErrorPage } from '../pages.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import { requestedAcr } from '../../../domain/authn/requested-acr.js';
import { registrationRoutes } from './registration-routes.js';
import { enrolmentRoutes } from './enrolment-routes.js';
import { passwordResetRoutes } from './password-reset-routes.js';
import { STATE_KEY, signInState, switchingAccount, withStaySignedIn } from './sign-in-progress.js';
import { throttledBeforeKoa } from '../early-sign-in-throttle.js';

export { switchingAccount };
import { type PageFailure, SignInPages } from './sign-in-pages.js';
import type { SignInDevices } from './device-cookie.js';
import type { FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';
import { FederationStrategy } from '../../../domain/authn/strategies/federation-strategy.js';

export interface SignInDeps {
  views: Views;
  users: Users;
  events: DomainEvents;
  /** Every sign-in method this deployment offers; the policy and each strategy's `available` decide when. */
  strategies: AuthenticationStrategy[];
  /** Second factors that can be set up during sign-in when the policy requires one and none is enrolled. */
  enrolments: EnrolmentMethod[];
  recoveryCodes?: RecoveryCodeIssuer;
  factors: Factors;
  /** MFA_REQUIRED: every account needs a second factor. */
  mfaRequired: boolean;
  /** Wrong second factors per account (shared by instances); no limit when omitted. */
  secondFactorLimiter?: SecondFactorLimiter;
  /** Attempts per client address, checked before any password is hashed; no limit when omitted. */
  signInThrottle?: SignInThrottle;
  registrationEnabled: boolean;
  passwordMinLength: number;
  /** Registration with proof of the address (EMAIL_VERIFICATION). */
  registrations: Registrations;
  /** "Forgot password?" from the sign-in page. */
  passwordResets: PasswordResets;
  /** New-device notices (device-cookie.ts); none when omitted. */
  devices?: SignInDevices;
  /** Upstream OIDC / OAuth 2.0 connections ("Continue with <name>"); none when omitted. */
  federation?: FederatedSignIn;
}

/**
 * The one controller for every sign-in method (Kratos' login handler over its strategies):
 * the policy says what is still needed, the strategy named in the path does the work, and this
 * controller only moves between steps, renders view models and emits domain events.
 *
 * Routes (under /interaction): POST /:uid/login/:strategy, POST /:uid/begin/:strategy,
 * enrolment (enrolment-routes.ts: GET|POST /:uid/enrol/:method, POST /:uid/continue) and registration.
 */
export class SignInController {
  readonly pages: SignInPages;
  readonly #strategies: Map<string, AuthenticationStrategy>;

  constructor(
    private readonly deps: SignInDeps,
    private readonly kit: InteractionKit,
  ) {
    this.#strategies = new Map(deps.strategies.map((s) => [s.id, s]));
    this.pages = new SignInPages(deps.views, kit, deps.strategies, deps.registrationEnabled, deps.federation);
  }

  /** A configured strategy, or one per enabled upstream connection (`oidc:<slug>`, `oauth2:<slug>`). */
  private async strategy(id: string): Promise<AuthenticationStrategy | undefined> {
    const fixed = this.#strategies.get(id);
    if (fixed || !this.deps.federation) return fixed;
    const connection = await this.deps.federation.byStrategyId(id);
    return connection && new FederationStrategy(connection, this.deps.federation);
  }

  private context(ctx: Context, d: Details, state: SignInState, step?: NextStep): StrategyContext {
    return {
      interactionUid: d.uid,
      clientId: String(d.params.client_id),
      state,
      origin: this.kit.origin(ctx),
      ...(step && 'requirement' in step ? { requiredLevel: step.requirement.level } : {}),
    };
  }

  /** What the policy asks for next, for this interaction's client and request. */
  async next(ctx: Context, d: Details, state: SignInState): Promise<NextStep> {
    const client = await this.kit.clientOf(ctx, d);
    const enrolled = state.accountId
      ? await this.deps.factors.enrolled(state.accountId)
      : { totp: false, passkey: false, recoveryCodes: false };
    const requirement = requiredAssurance({
      accountHasSecondFactor: enrolled.totp || enrolled.passkey,
      client: {
        requireMfa: client?.require_mfa === true,
        requirePhishingResistant: client?.require_phishing_resistant === true,
      },
      deploymentRequiresMfa: this.deps.mfaRequired,
      requestedAcr: requestedAcr(d.params),
    });
    return nextStep(state, requirement, enrolled);
  }

  /** GET /interaction/:uid while the login prompt is open: the page for the step the policy asks for. */
  async show(ctx: Context, d: Details, failure?: PageFailure): Promise<void> {
    const state = signInState(d);
    const step = await this.next(ctx, d, state);
    if (step.next === 'done') return this.progress(ctx, d, state);
    const sctx = this.context(ctx, d, state, step);
    if (step.next === 'first_factor') {
      if (!failure) {
        const polled = await this.poll(ctx, d, state, sctx);
        if (polled) return;
      }
      return this.pages.firstFactor(ctx, d, sctx, failure);
    }
    if (step.next === 'second_factor') {
      const asked = String(ctx.query.method ?? '') as StrategyId;
      const chosen = step.methods.includes(asked) ? asked : step.methods[0]!;
      return this.pages.secondFactor(ctx, d, sctx, step.methods, failure?.method ?? chosen, failure);
    }
    return this.pages.enrolChoice(ctx, d, step.methods);
  }

  /**
   * After a step succeeded: finish when the policy is satisfied (acr/amr on the result), else
   * keep the state on the interaction and show the next step.
   */
  async progress(ctx: Context, d: Details, state: SignInState): Promise<void> {
    const step = await this.next(ctx, d, state);
    if (step.next !== 'done') {
      await this.kit.remember(d, { [STATE_KEY]: state });
      ctx.status = 303;
      ctx.redirect(`/interaction/${d.uid}`);
      return;
    }
    // A link the person was asked to confirm by signing in to the account with that email.
    if (state.pendingLink)
      await this.deps.federation?.completeLink(step.accountId, state.pendingLink, this.kit.origin(ctx));
    this.deps.events.emit(
      {
        type: 'login.succeeded',
        accountId: step.accountId,
        clientId: String(d.params.client_id),
        methods: state.methods,
        amr: step.amr,
        acr: step.acr,
        ...(state.upstream ? { upstream: state.upstream } : {}),
      },
      this.kit.origin(ctx),
    );
    await this.deps.devices?.recordSignIn(ctx, step.accountId);
    // No "Stay signed in" choice on this sign-in: a step-up keeps the session's (remember left out),
    // a new session ends with the browser (the unticked default).
    const remember = state.staySignedIn ?? (d.session?.accountId === step.accountId ? undefined : false);
    await this.kit.finish(
      ctx,
      {
        login: {
          accountId: step.accountId,
          acr: step.acr,
          amr: step.amr,
          ...(remember === undefined ? {} : { remember }),
        },
      },
      { mergeWithLastSubmission: false },
    );
  }

  /**
   * GET /:uid?method=<id> of a strategy whose proof arrives out of band (a sign-in link opened
   * elsewhere): finishes the step when it has arrived, or shows why it cannot. True when handled.
   */
  private async poll(ctx: Context, d: Details, state: SignInState, sctx: StrategyContext): Promise<boolean> {
    const strategy = await this.strategy(String(ctx.query.method ?? ''));
    if (!strategy?.poll || strategy.stage === 'second' || !(await strategy.available(sctx))) return false;
    const completion = await strategy.poll(sctx);
    if (!completion || completion.kind === 'redirect') return false;
    if (completion.kind === 'failed' && completion.pendingLink) {
      // Not a failure: the page asks the person to sign in to the existing account (progress links it).
      const waiting = { ...state, pendingLink: completion.pendingLink };
      await this.kit.remember(d, { [STATE_KEY]: waiting });
      await this.pages.firstFactor(ctx, d, { ...sctx, state: waiting }, { status: 200, message: completion.message });
    } else if (completion.kind === 'failed') {
      this.failed(ctx, d, strategy.id, completion, state);
      await this.pages.firstFactor(ctx, d, sctx, { ...completion, method: strategy.id });
    } else await this.progress(ctx, d, applyProof(state, strategy.id, completion.accountId, completion.proof));
    return true;
  }

  private failed(
    ctx: Context,
    d: Details,
    method: StrategyId,
    completion: Extract<Completion, { kind: 'failed' }>,
    state: SignInState,
  ) {
    this.deps.events.emit(
      {
        type: 'login.failed',
        accountId: completion.accountId ?? state.accountId,
        clientId: String(d.params.client_id),
        method,
        reason: completion.reason,
      },
      this.kit.origin(ctx),
    );
  }

  /** Registers the routes on the interaction router. */
  routes(router: Router): void {
    const { kit, deps } = this;

    /** Before anything that reads storage or hashes: attempts past the limit cost one counter increment. */
    const throttled = async (ctx: Context, next: () => Promise<unknown>) => {
      // Password sign-in and registration were counted by the listener, before Koa (early-sign-in-throttle.ts).
      if (deps.signInThrottle && !throttledBeforeKoa(ctx.method, ctx.path)) {
        const verdict = await deps.signInThrottle.check(ctx.ip);
        if (!verdict.allowed) {
          deps.events.emit({ type: 'login.failed', method: 'password', reason: 'rate_limited' }, kit.origin(ctx));
          ctx.set('Retry-After', String(verdict.retryAfterSeconds));
          renderErrorPage(deps.views, ctx, 429, 'too_many_requests');
          return;
        }
      }
      await next();
    };

    const openLogin = async (ctx: Context) => {
      const d = await kit.details(ctx);
      if (d.prompt.name !== 'login' && !switchingAccount(d))
        throw new GatehouseError('invalid_request', 'this sign-in step is already complete');
      return d;
    };

    router.post('/:uid/login/:strategy', throttled, async (ctx) => {
      const d = await openLogin(ctx);
      const form = ctx.request.body as Record<string, string>;
      kit.checkCsrf(d, 'login', form);
      if (await this.homeRealm(ctx, d, form)) return;
      await this.submit(ctx, d, String(ctx.params.strategy), form);
    });

    router.post('/:uid/begin/:strategy', throttled, async (ctx) => {
      const d = await openLogin(ctx);
      kit.checkCsrf(d, 'login', ctx.request.body as Record<string, string>);
      const strategy = await this.strategy(String(ctx.params.strategy));
      if (!strategy?.begin) throw new GatehouseError('not_found', 'no such sign-in method');
      if (
        !(strategy instanceof FederationStrategy) &&
        (await this.homeRealm(ctx, d, ctx.request.body as Record<string, string>))
      )
        return;
      await this.begin(ctx, d, strategy);
    });

    enrolmentRoutes(router, {
      ...deps,
      kit,
      pages: this.pages,
      openLogin,
      next: (ctx, d, state) => this.next(ctx, d, state),
      progress: (ctx, d, state) => this.progress(ctx, d, state),
    });
    registrationRoutes(router, { ...deps, throttled, kit, progress: (ctx, d, state) => this.progress(ctx, d, state) });
    passwordResetRoutes(router, { ...deps, kit });
  }

  /** POST /:uid/begin/:strategy, after the checks: on to the strategy's redirect, or its refusal on the page. */
  private async begin(ctx: Context, d: Details, strategy: AuthenticationStrategy): Promise<void> {
    const { kit } = this;
    const state = signInState(d);
    const sctx = this.context(ctx, d, state);
    if (!strategy.begin || !(await strategy.available(sctx)))
      throw new GatehouseError('invalid_request', 'this sign-in method is not available now');
    // "Stay signed in" on a first factor's form, kept for when the method comes back.
    if ((await this.next(ctx, d, state)).next === 'first_factor')
      await kit.remember(d, { [STATE_KEY]: withStaySignedIn(state, ctx.request.body as Record<string, string>) });
    const started = await strategy.begin(sctx, ctx.request.body as Record<string, string>);
    if (started.kind === 'failed') {
      if (started.retryAfterSeconds) ctx.set('Retry-After', String(started.retryAfterSeconds));
      return this.show(ctx, d, { ...started, method: strategy.id });
    }
    if (started.bindBrowser) {
      const { name, value, path, maxAgeSeconds } = started.bindBrowser;
      const opts = { httpOnly: true, sameSite: 'lax', secure: ctx.secure, path, overwrite: true } as const;
      ctx.cookies.set(name, value, { ...opts, maxAge: maxAgeSeconds * 1000 });
    }
    ctx.status = 303;
    ctx.redirect(started.location);
  }

  /**
   * Home-realm discovery on a first factor's form: an email of a connection's domain goes to that
   * connection (when no password was typed, or always with `enforce_sso`). True when it did.
   */
  private async homeRealm(ctx: Context, d: Details, form: Record<string, string>): Promise<boolean> {
    const federation = this.deps.federation;
    if (!federation || !form.email || signInState(d).accountId) return false;
    const home = await federation.homeRealm(form.email, Boolean(form.password));
    if (!home) return false;
    await this.begin(ctx, d, new FederationStrategy(home, federation));
    return true;
  }

  /** POST /:uid/login/:strategy: the strategy completes, failures are shown on the same page. */
  private async submit(ctx: Context, d: Details, strategyId: string, form: Record<string, string>): Promise<void> {
    const { deps } = this;
    const strategy = this.#strategies.get(strategyId);
    if (!strategy) throw new GatehouseError('not_found', 'no such sign-in method');
    const state = signInState(d);
    const step = await this.next(ctx, d, state);
    const allowed =
      step.next === 'first_factor'
        ? strategy.stage !== 'second'
        : step.next === 'second_factor' && step.methods.includes(strategy.id);
    const sctx = this.context(ctx, d, state, step);
    if (!allowed || !(await strategy.available(sctx)))
      throw new GatehouseError('invalid_request', 'unexpected sign-in step');

    const secondFactor = step.next === 'second_factor' && state.accountId !== undefined;
    if (secondFactor && deps.secondFactorLimiter) {
      const verdict = await deps.secondFactorLimiter.check(state.accountId!);
      if (!verdict.allowed) return this.tooManySecondFactors(ctx, d, state.accountId!, strategy.id, verdict);
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
      this.failed(ctx, d, strategy.id, completion, state);
      if (secondFactor && deps.secondFactorLimiter) {
        const verdict = await deps.secondFactorLimiter.failed(state.accountId!);
        if (!verdict.allowed) return this.tooManySecondFactors(ctx, d, state.accountId!, strategy.id, verdict);
      }
      if (completion.retryAfterSeconds) ctx.set('Retry-After', String(completion.retryAfterSeconds));
      return this.show(ctx, d, {
        status: completion.status,
        message: completion.message,
        values: { ...completion.values, ...(form.remember ? { remember: form.remember } : {}) },
        method: strategy.id,
      });
    }
    const proven = applyProof(state, strategy.id, completion.accountId, completion.proof);
    await this.progress(ctx, d, step.next === 'first_factor' ? withStaySignedIn(proven, form) : proven);
  }

  private async tooManySecondFactors(
    ctx: Context,
    d: Details,
    accountId: string,
    method: StrategyId,
    verdict: { retryAfterSeconds: number },
  ): Promise<void> {
    this.deps.events.emit(
      { type: 'second_factor.throttled', accountId, retryAfterSeconds: verdict.retryAfterSeconds },
      this.kit.origin(ctx),
    );
    ctx.set('Retry-After', String(verdict.retryAfterSeconds));
    const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
    return this.show(ctx, d, {
      status: 429,
      message: `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      method,
    });
  }
}
