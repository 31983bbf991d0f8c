import Router from '@koa/router';
import type { Context } from 'koa';
import type { ProviderRef } from '../../../oidc/live-provider.js';
import {
  GatehouseError,
  StorageUnavailable,
  UNAVAILABLE_BODY,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from '../../../domain/errors.js';
import { formBody } from '../../middleware/body-parsers.js';
import type { Views } from '../../views.js';
import { renderErrorPage, sendPage } from '../pages.js';
import { consentView, type ResourceNames } from './consent-view.js';
import type { CsrfTokens } from './csrf.js';
import { type Details, interactionKit } from './interaction-kit.js';
import { SignInController, type SignInDeps, switchingAccount } from './sign-in-routes.js';

/** Form bodies are tiny; anything bigger is not a login. */
const FORM_LIMIT_BYTES = 16 * 1024;

export interface InteractionDeps extends SignInDeps {
  /** The provider serving right now (it is rebuilt when signing keys change). */
  providers: ProviderRef;
  views: Views;
  csrf: CsrfTokens;
  /** Registered APIs, for their names and scope descriptions on the consent page; raw identifiers when omitted. */
  resources?: ResourceNames;
}

/**
 * The interaction routes: sign-in (sign-in-routes.ts: every method as a strategy), registration
 * and consent, rendered server-side. oidc-provider owns the protocol; these routes only establish
 * who the user is and what they allow.
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const { views, csrf } = deps;
  const kit = interactionKit(deps.providers, csrf);
  const signIn = new SignInController(deps, kit);
  const router = new Router({ prefix: '/interaction' });
  router.use(formBody(FORM_LIMIT_BYTES));

  const renderConsent = async (ctx: Context, d: Details) => {
    const session = d.session as { accountId?: string } | undefined;
    const user = session?.accountId ? await deps.users.findActive(session.accountId) : undefined;
    const prompt = d.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const client = await kit.clientOf(ctx, d);
    const logo = typeof client?.logoUri === 'string' ? client.logoUri : undefined;
    sendPage(
      ctx,
      200,
      views.render('consent', 'Allow access', {
        clientName: client?.clientName ?? String(d.params.client_id),
        logoUri: logo,
        policyUri: client?.policyUri,
        tosUri: client?.tosUri,
        scopes: await consentView(prompt, deps.resources),
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
    deps.events.emit(
      {
        type: 'consent.granted',
        accountId,
        clientId: String(params.client_id),
        grantId,
        scope: missingOIDCScope ?? [],
        claims: missingOIDCClaims ?? [],
        resourceScopes: missingResourceScopes ?? {},
        automatic,
      },
      kit.origin(ctx),
    );
    await kit.finish(ctx, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };

  const isFirstParty = async (d: Details) => {
    const client = await deps.providers.current.Client.find(String(d.params.client_id));
    return (client as unknown as { first_party?: boolean } | undefined)?.first_party === true;
  };

  router.get('/:uid', async (ctx) => {
    const d = await kit.details(ctx);
    if (d.prompt.name === 'login' || switchingAccount(d)) return signIn.show(ctx, d);
    if (d.prompt.name === 'consent') {
      if (await isFirstParty(d)) return grantConsent(ctx, d, true);
      return renderConsent(ctx, d);
    }
    throw new GatehouseError('invalid_request', `unsupported prompt ${d.prompt.name}`);
  });

  signIn.routes(router);

  router.post('/:uid/consent', async (ctx) => {
    const d = await kit.details(ctx);
    const form = ctx.request.body as Record<string, string>;
    if (d.prompt.name !== 'consent') throw new GatehouseError('invalid_request', 'nothing to consent to');
    kit.checkCsrf(d, 'consent', form);
    if (form.decision !== 'allow') {
      await kit.finish(
        ctx,
        { error: 'access_denied', error_description: 'the user denied the request' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    await grantConsent(ctx, d);
  });

  /** "Cancel" on the sign-in pages: the application gets access_denied. A POST with its CSRF token, so no link can do it. */
  router.post('/:uid/abort', async (ctx) => {
    const d = await kit.details(ctx);
    await kit.clientOf(ctx, d);
    kit.checkCsrf(d, 'abort', ctx.request.body as Record<string, string>);
    await kit.finish(
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
    const d = await kit.details(ctx);
    const form = ctx.request.body as Record<string, string>;
    if (d.prompt.name !== 'consent') throw new GatehouseError('invalid_request', 'nothing to switch');
    kit.checkCsrf(d, 'switch', form);
    await kit.remember(d, { gatehouseSwitchAccount: true });
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
