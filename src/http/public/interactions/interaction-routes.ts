import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { ProviderRef } from '../../../oidc/live-provider.js';
import type { SignInThrottle } from '../../../domain/authn/sign-in-throttle.js';
import {
  GatehouseError,
  StorageUnavailable,
  UNAVAILABLE_BODY,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from '../../../domain/errors.js';
import type { Users } from '../../../domain/accounts/users.js';
import { NAME_MAX_LENGTH, registrationSchema } from '../../../domain/accounts/user-fields.js';
import { applyStep, nextStep, type LoginState } from '../../../domain/authn/login-flow.js';
import { ACR_PASSWORD } from '../../../oidc/provider.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { auditContext } from '../../middleware/audit-context.js';
import { formBody } from '../../middleware/body-parsers.js';
import type { Views } from '../../views.js';
import { renderErrorPage, sendPage } from '../pages.js';
import { clientWayOut, type ClientLike } from '../way-out.js';
import { consentView, type ResourceNames } from './consent-view.js';
import type { CsrfTokens } from './csrf.js';
import { PasswordStep, type LoginFailureCounter } from './password-step.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Form bodies are tiny; anything bigger is not a login. */
const FORM_LIMIT_BYTES = 16 * 1024;

export interface InteractionDeps {
  /** The provider serving right now (it is rebuilt when signing keys change). */
  providers: ProviderRef;
  users: Users;
  views: Views;
  csrf: CsrfTokens;
  registrationEnabled: boolean;
  passwordMinLength: number;
  /** Counts failed sign-ins; none when omitted. */
  metrics?: LoginFailureCounter;
  /** Sign-ins, registrations and consents into the audit log; none when omitted. */
  audit?: AuditLog;
  /** Attempts per client address, checked before any password is hashed; no limit when omitted. */
  signInThrottle?: SignInThrottle;
  /** Registered APIs, for their names and scope descriptions on the consent page; raw identifiers when omitted. */
  resources?: ResourceNames;
}

/** Set on the interaction by "Not you? Switch account": the login page is shown again before consent. */
const switchingAccount = (d: Details) =>
  (d.result as { gatehouseSwitchAccount?: boolean } | undefined)?.gatehouseSwitchAccount === true;

function loginState(details: Details): LoginState {
  const saved = (details.result as { gatehouseLogin?: LoginState } | undefined)?.gatehouseLogin;
  return saved ?? { amr: [], completed: [] };
}

/**
 * The interaction routes: the login steps, registration and consent, rendered server-side.
 * oidc-provider owns the protocol; these routes only establish who the user is and what they allow.
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const { views, csrf } = deps;
  const steps = [new PasswordStep(deps.users, deps.metrics)];
  const router = new Router({ prefix: '/interaction' });
  router.use(formBody(FORM_LIMIT_BYTES));

  /** Records the result on the interaction and sends the browser back to the provider (303). */
  const finish = async (
    ctx: Context,
    result: Parameters<Provider['interactionResult']>[2],
    options: { mergeWithLastSubmission: boolean },
  ) => {
    const to = await deps.providers.current.interactionResult(ctx.req, ctx.res, result, options);
    ctx.status = 303;
    ctx.redirect(to);
  };

  const details = async (ctx: Context): Promise<Details> => {
    const d = await deps.providers.current.interactionDetails(ctx.req, ctx.res);
    if (d.uid !== ctx.params.uid) throw new GatehouseError('invalid_request', 'interaction mismatch');
    return d;
  };

  /** The interaction's client; also gives every error page from here on its "Back to <app>" link. */
  const clientOf = async (ctx: Context, d: Details) => {
    const client = (await deps.providers.current.Client.find(String(d.params.client_id))) as
      | (ClientLike & Record<string, unknown>)
      | undefined;
    ctx.state.wayOut = clientWayOut(client);
    return client;
  };

  const clientName = async (ctx: Context, d: Details) =>
    (await clientOf(ctx, d))?.clientName ?? String(d.params.client_id);

  const renderLogin = async (ctx: Context, d: Details, status = 200, error?: string, email = '') => {
    const name = await clientName(ctx, d);
    sendPage(
      ctx,
      status,
      views.render('login', 'Sign in', {
        abortAction: `/interaction/${d.uid}/abort`,
        abortCsrf: csrf.issue(d.uid, 'abort'),
        clientSuffix: ` to ${name}`,
        errorBlock: error ? `<div class="error" role="alert">${error.replace(/[<>&"]/g, '')}</div>` : '',
        action: `/interaction/${d.uid}/login/password`,
        csrf: csrf.issue(d.uid, 'login'),
        email,
        registerHref: deps.registrationEnabled ? `/interaction/${d.uid}/register` : undefined,
      }),
    );
  };

  const renderConsent = async (ctx: Context, d: Details) => {
    const session = d.session as { accountId?: string } | undefined;
    const user = session?.accountId ? await deps.users.findActive(session.accountId) : undefined;
    const prompt = d.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const client = await clientOf(ctx, d);
    const view = await consentView(prompt, deps.resources);
    const logo = typeof client?.logoUri === 'string' ? client.logoUri : undefined;
    sendPage(
      ctx,
      200,
      views.render('consent', 'Allow access', {
        clientName: client?.clientName ?? String(d.params.client_id),
        logoUri: logo,
        policyUri: client?.policyUri,
        tosUri: client?.tosUri,
        scopeItems: view.html,
        email: user?.email ?? '',
        action: `/interaction/${d.uid}/consent`,
        csrf: csrf.issue(d.uid, 'consent'),
        switchAction: `/interaction/${d.uid}/switch-account`,
        switchCsrf: csrf.issue(d.uid, 'switch'),
      }),
      logo ? { imgSrc: [new URL(logo).origin] } : undefined,
    );
  };

  /** Grants what the prompt asks for and finishes the consent prompt. */
  const grantConsent = async (ctx: Context, d: Details, automatic = false) => {
    const {
      prompt: { details: promptDetails },
      params,
      session,
    } = d;
    const accountId = (session as { accountId: string }).accountId;
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = promptDetails as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = d.grantId
      ? (await deps.providers.current.Grant.find(d.grantId))!
      : new deps.providers.current.Grant({ accountId, clientId: String(params.client_id) });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    deps.audit?.record({
      type: 'consent.granted',
      actor: `user:${accountId}`,
      subject: accountId,
      clientId: String(params.client_id),
      ...auditContext(ctx),
      data: {
        scope: missingOIDCScope ?? [],
        claims: missingOIDCClaims ?? [],
        resource_scopes: missingResourceScopes ?? {},
        grant_id: grantId,
        automatic,
      },
    });
    await finish(ctx, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };

  const isFirstParty = async (d: Details) => {
    const client = await deps.providers.current.Client.find(String(d.params.client_id));
    return (client as unknown as { first_party?: boolean } | undefined)?.first_party === true;
  };

  router.get('/:uid', async (ctx) => {
    const d = await details(ctx);
    if (d.prompt.name === 'login' || switchingAccount(d)) return renderLogin(ctx, d);
    if (d.prompt.name === 'consent') {
      if (await isFirstParty(d)) return grantConsent(ctx, d, true);
      return renderConsent(ctx, d);
    }
    throw new GatehouseError('invalid_request', `unsupported prompt ${d.prompt.name}`);
  });

  /** Before anything that reads storage or hashes: attempts past the limit cost one counter increment. */
  const throttled = async (ctx: Context, next: () => Promise<unknown>) => {
    if (deps.signInThrottle) {
      const verdict = await deps.signInThrottle.check(ctx.ip);
      if (!verdict.allowed) {
        deps.metrics?.loginFailed('rate_limited');
        ctx.set('Retry-After', String(verdict.retryAfterSeconds));
        renderErrorPage(views, ctx, 429, 'too_many_requests');
        return;
      }
    }
    await next();
  };

  router.post('/:uid/login/:step', throttled, async (ctx) => {
    const d = await details(ctx);
    const form = ctx.request.body as Record<string, string>;
    if (d.prompt.name !== 'login' && !switchingAccount(d))
      throw new GatehouseError('invalid_request', 'this sign-in step is already complete');
    if (!csrf.valid(d.uid, 'login', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    const state = loginState(d);
    const step = nextStep(steps, state);
    if (!step || step.id !== ctx.params.step) throw new GatehouseError('invalid_request', 'unexpected sign-in step');
    const outcome = await step.submit(form, ctx.state.log);
    if (!outcome.ok) {
      deps.audit?.record({
        type: 'login.failed',
        actor: 'anonymous',
        subject: outcome.userId,
        clientId: String(d.params.client_id),
        ...auditContext(ctx),
        data: { reason: outcome.reason, step: step.id },
      });
      return renderLogin(ctx, d, outcome.status, outcome.message, outcome.email);
    }
    const updated = applyStep(state, step.id, outcome.result);
    if (nextStep(steps, updated)) {
      d.result = { ...(d.result ?? {}), gatehouseLogin: updated };
      await d.save(Math.max(1, (d.exp ?? 0) - Math.floor(Date.now() / 1000)));
      ctx.status = 303;
      return ctx.redirect(`/interaction/${d.uid}`);
    }
    deps.audit?.record({
      type: 'login.succeeded',
      actor: `user:${updated.accountId!}`,
      subject: updated.accountId!,
      clientId: String(d.params.client_id),
      ...auditContext(ctx),
      data: { amr: updated.amr, steps: updated.completed },
    });
    await finish(
      ctx,
      {
        login: { accountId: updated.accountId!, acr: ACR_PASSWORD, amr: updated.amr, remember: true },
      },
      { mergeWithLastSubmission: false },
    );
  });

  router.get('/:uid/register', async (ctx) => {
    const d = await details(ctx);
    if (!deps.registrationEnabled) throw new GatehouseError('not_found', 'registration is disabled');
    requireLoginPrompt(d);
    renderRegister(ctx, d);
  });

  /** An account is made only while signing in: never on a consent step, where a session already exists. */
  const requireLoginPrompt = (d: Details) => {
    if (d.prompt.name !== 'login')
      throw new GatehouseError('invalid_request', 'registration is only possible while signing in');
  };

  const renderRegister = (
    ctx: Context,
    d: Details,
    status = 200,
    error?: string,
    values: Record<string, string> = {},
  ) => {
    sendPage(
      ctx,
      status,
      views.render('register', 'Create account', {
        clientSuffix: '',
        errorBlock: error ? `<div class="error" role="alert">${error.replace(/[<>&"]/g, '')}</div>` : '',
        action: `/interaction/${d.uid}/register`,
        csrf: csrf.issue(d.uid, 'register'),
        name: values.name ?? '',
        email: values.email ?? '',
        minLength: deps.passwordMinLength,
        loginHref: `/interaction/${d.uid}`,
      }),
    );
  };

  router.post('/:uid/register', throttled, async (ctx) => {
    const d = await details(ctx);
    if (!deps.registrationEnabled) throw new GatehouseError('not_found', 'registration is disabled');
    requireLoginPrompt(d);
    const form = ctx.request.body as Record<string, string>;
    if (!csrf.valid(d.uid, 'register', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    const parsed = registrationSchema.safeParse({
      email: form.email ?? '',
      name: form.name,
      password: form.password ?? '',
    });
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      const message =
        field === 'name'
          ? `Enter a name of at most ${NAME_MAX_LENGTH} characters.`
          : field === 'password'
            ? 'Password is too long.'
            : 'Enter a valid email address.';
      return renderRegister(ctx, d, 400, message, form);
    }
    try {
      const user = await deps.users.create(parsed.data);
      ctx.state.log.info({ event: 'user.registered', userId: user.id }, 'user registered');
      deps.audit?.record({
        type: 'user.registered',
        actor: `user:${user.id}`,
        subject: user.id,
        clientId: String(d.params.client_id),
        ...auditContext(ctx),
        data: {},
      });
      await finish(
        ctx,
        {
          login: { accountId: user.id, acr: ACR_PASSWORD, amr: ['pwd'], remember: true },
        },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'invalid_password')
        return renderRegister(ctx, d, 400, `Password ${err.message.replace(/^password /, '')}.`, form);
      // Same answer as success would need an email loop; until email verification exists, say it plainly.
      if (err instanceof GatehouseError && err.code === 'conflict')
        return renderRegister(ctx, d, 409, 'An account with this email already exists. Sign in instead.', form);
      throw err;
    }
  });

  router.post('/:uid/consent', async (ctx) => {
    const d = await details(ctx);
    const form = ctx.request.body as Record<string, string>;
    if (d.prompt.name !== 'consent') throw new GatehouseError('invalid_request', 'nothing to consent to');
    if (!csrf.valid(d.uid, 'consent', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    if (form.decision !== 'allow') {
      await finish(
        ctx,
        { error: 'access_denied', error_description: 'the user denied the request' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    await grantConsent(ctx, d);
  });

  /** "Cancel" on the login page: the application gets access_denied. A POST with its CSRF token, so no link can do it. */
  router.post('/:uid/abort', async (ctx) => {
    const d = await details(ctx);
    await clientOf(ctx, d);
    const form = ctx.request.body as Record<string, string>;
    if (!csrf.valid(d.uid, 'abort', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    await finish(
      ctx,
      { error: 'access_denied', error_description: 'the user cancelled the request' },
      { mergeWithLastSubmission: false },
    );
  });

  router.get('/:uid/abort', (ctx) => {
    ctx.set('Allow', 'POST');
    renderErrorPage(views, ctx, 405, 'method_not_allowed', 'cancel with the button on the sign-in page');
  });

  /**
   * "Not you? Switch account" on the consent page: the login page is shown again. Signing in as
   * someone else ends the old session (oidc-provider logs it out on resume) before consent.
   */
  router.post('/:uid/switch-account', async (ctx) => {
    const d = await details(ctx);
    const form = ctx.request.body as Record<string, string>;
    if (d.prompt.name !== 'consent') throw new GatehouseError('invalid_request', 'nothing to switch');
    if (!csrf.valid(d.uid, 'switch', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    d.result = { ...(d.result ?? {}), gatehouseSwitchAccount: true };
    await d.save(Math.max(1, (d.exp ?? 0) - Math.floor(Date.now() / 1000)));
    ctx.status = 303;
    ctx.redirect(`/interaction/${d.uid}`);
  });

  return router;
}

/** Interaction errors as an HTML page (never a stack trace). */
export function interactionErrors(views: Views) {
  return async (ctx: Context, next: () => Promise<unknown>) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof StorageUnavailable) {
        ctx.state.log?.warn({ err: err.toLog() }, 'storage unavailable: interaction answered 503');
        ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
        ctx.set('Cache-Control', 'no-store');
        renderErrorPage(views, ctx, 503, UNAVAILABLE_BODY.error, UNAVAILABLE_BODY.error_description);
        return;
      }
      const e = err as {
        status?: number;
        statusCode?: number;
        error?: string;
        code?: string;
        message?: string;
        error_description?: string;
        expose?: boolean;
      };
      const status = e.status ?? e.statusCode ?? 500;
      if (status >= 500) ctx.state.log?.error({ err }, 'interaction failed');
      const code =
        e.error ?? (err instanceof GatehouseError ? err.code : status === 413 ? 'payload_too_large' : 'server_error');
      renderErrorPage(views, ctx, status, code, status < 500 ? (e.error_description ?? e.message) : undefined);
    }
  };
}
