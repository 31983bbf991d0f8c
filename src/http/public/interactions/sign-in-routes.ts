import type Router from '@koa/router';
import type { Context } from 'koa';
import { type NextStep, nextStep, requiredAssurance } from '../../../domain/authn/authentication-policy.js';
import type { EnrolmentMethod, RecoveryCodeIssuer } from '../../../domain/authn/enrolment.js';
import type { Factors } from '../../../domain/authn/factors.js';
import type { SecondFactorLimiter } from '../../../domain/authn/second-factor-limiter.js';
import type { SignInState } from '../../../domain/authn/sign-in-state.js';
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
import { STATE_KEY, signInState, switchingAccount } from './sign-in-progress.js';
import { throttledBeforeKoa } from '../early-sign-in-throttle.js';

export { switchingAccount };
import { type PageFailure, SignInPages } from './sign-in-pages.js';
import type { SignInDevices } from './device-cookie.js';
import type { FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';
import { FederationStrategy } from '../../../domain/authn/strategies/federation-strategy.js';
import { UNSOLICITED_COOKIE } from '../federation/federation-routes.js';
import { type BeginDeps, beginRoutes, homeRealm } from './sign-in-begin.js';
import { type PollDeps, pollOutOfBand } from './sign-in-poll.js';
import { type SubmitDeps, submitStep } from './sign-in-submit.js';

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
 * Routes (under /interaction): POST /:uid/login/:strategy (sign-in-submit.ts), POST /:uid/begin/:strategy
 * (sign-in-begin.ts), the out-of-band poll on GET /:uid?method=<id> (sign-in-poll.ts), enrolment
 * (enrolment-routes.ts: GET|POST /:uid/enrol/:method, POST /:uid/continue) and registration.
 */
export class SignInController {
  readonly pages: SignInPages;
  readonly #strategies: Map<string, AuthenticationStrategy>;
  readonly #poll: PollDeps;
  readonly #submit: SubmitDeps;

  constructor(
    private readonly deps: SignInDeps,
    private readonly kit: InteractionKit,
  ) {
    this.#strategies = new Map(deps.strategies.map((s) => [s.id, s]));
    this.pages = new SignInPages(deps.views, kit, deps.strategies, deps.registrationEnabled, deps.federation);
    this.#poll = {
      kit,
      pages: this.pages,
      strategy: (id) => this.strategy(id),
      failed: (ctx, d, method, completion, state) => this.failed(ctx, d, method, completion, state),
      progress: (ctx, d, state) => this.progress(ctx, d, state),
    };
    this.#submit = {
      ...deps,
      kit,
      failed: this.#poll.failed,
      progress: this.#poll.progress,
      // Only the fixed strategies complete on a form; upstream connections begin (sign-in-begin.ts).
      strategy: (id) => this.#strategies.get(id),
      next: (ctx, d, state) => this.next(ctx, d, state),
      context: (ctx, d, state, step) => this.context(ctx, d, state, step),
      show: (ctx, d, failure) => this.show(ctx, d, failure),
    };
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
        const adopted = await this.adoptUnsolicited(ctx, d);
        const polled = await pollOutOfBand(this.#poll, ctx, d, state, sctx, adopted);
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
   * An IdP-initiated SAML sign-in (federation-routes.ts left its handle in a cookie and sent the
   * browser to /account, whose sign-in led here): this interaction takes its outcome over, once.
   * The strategy id to poll, or undefined (no cookie, or spent).
   */
  private async adoptUnsolicited(ctx: Context, d: Details): Promise<string | undefined> {
    const federation = this.deps.federation;
    const handle = ctx.cookies.get(UNSOLICITED_COOKIE);
    if (!handle || !federation) return undefined;
    ctx.cookies.set(UNSOLICITED_COOKIE, null, {
      path: '/interaction/',
      httpOnly: true,
      sameSite: 'lax',
      secure: federation.secureCookies,
      overwrite: true,
    });
    return federation.adoptUnsolicited(handle, d.uid);
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

  /** login.failed for a refused step, whether submitted on the form or polled out of band. */
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
    const throttled = throttleSignIns(deps, kit);
    const openLogin = (ctx: Context) => this.openLogin(ctx);
    const begin: BeginDeps = {
      ...deps,
      kit,
      throttled,
      openLogin,
      strategy: (id) => this.strategy(id),
      context: (ctx, d, state) => this.context(ctx, d, state),
      next: (ctx, d, state) => this.next(ctx, d, state),
      show: (ctx, d, failure) => this.show(ctx, d, failure),
    };

    router.post('/:uid/login/:strategy', throttled, async (ctx) => {
      const d = await openLogin(ctx);
      const form = ctx.request.body as Record<string, string>;
      kit.checkCsrf(d, 'login', form);
      if (await homeRealm(begin, ctx, d, form)) return;
      await submitStep(this.#submit, ctx, d, String(ctx.params.strategy), form);
    });
    beginRoutes(router, begin);
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

  /** The interaction of this request, while its login prompt is open (or the person is switching account). */
  private async openLogin(ctx: Context): Promise<Details> {
    const d = await this.kit.details(ctx);
    if (d.prompt.name !== 'login' && !switchingAccount(d))
      throw new GatehouseError('invalid_request', 'this sign-in step is already complete');
    return d;
  }
}

/** Before anything that reads storage or hashes: attempts past the limit cost one counter increment. */
function throttleSignIns(deps: SignInDeps, kit: InteractionKit) {
  return async (ctx: Context, next: () => Promise<unknown>): Promise<void> => {
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
}
