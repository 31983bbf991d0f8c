import type Router from '@koa/router';
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { EmailSignIn } from '../../../domain/authn/email-sign-in/email-sign-in.js';
import type { Views } from '../../views.js';
import { renderErrorPage, sendPage } from '../pages.js';
import type { CsrfTokens } from '../interactions/csrf.js';

/** What the sign-in link page needs: the email sign-in service when EMAIL_SIGN_IN_LINK is on. */
export interface SignInLinkDeps {
  views: Views;
  csrf: CsrfTokens;
  signInLinks?: Pick<EmailSignIn, 'peekLink' | 'approveLink'>;
}

const TOKEN_MAX = 100;
const tokenOf = (value: unknown) => (typeof value === 'string' && value.length <= TOKEN_MAX ? value : '');
/** This page has no interaction: its form token is bound to the link's token instead. */
const csrfSubject = (token: string) => `sign-in-link:${createHash('sha256').update(token).digest('base64url')}`;

/**
 * `/sign-in-link?token=…` from the email (EMAIL_SIGN_IN_LINK). GET only shows a confirm button,
 * so mail scanners that fetch links do not use them up; POST redeems the token and approves the
 * sign-in of the browser that asked, which is polling for it. This browser gets no session: a
 * link forwarded to, or opened by, someone else signs in no one but the asker.
 */
export function signInLinkRoutes(router: Router, deps: SignInLinkDeps): void {
  const page = (ctx: Context, status: number, title: string, model: Record<string, unknown>) =>
    sendPage(ctx, status, deps.views.render('sign-in-link', title, model));

  router.get('/sign-in-link', async (ctx) => {
    if (!deps.signInLinks) return renderErrorPage(deps.views, ctx, 404, 'not_found');
    const token = tokenOf(ctx.query.token);
    const link = token ? await deps.signInLinks.peekLink(token) : undefined;
    if (!link) return page(ctx, 400, 'Sign-in link', { invalid: true });
    page(ctx, 200, 'Sign in', {
      confirm: true,
      requestedAt: `${link.requestedAt.toISOString().slice(11, 16)} UTC`,
      ip: link.ip,
      token,
      action: '/sign-in-link',
      csrf: deps.csrf.issue(csrfSubject(token), 'sign-in-link'),
    });
  });

  router.post('/sign-in-link', async (ctx) => {
    if (!deps.signInLinks) return renderErrorPage(deps.views, ctx, 404, 'not_found');
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    const token = tokenOf(form.token);
    if (!token || !deps.csrf.valid(csrfSubject(token), 'sign-in-link', form.csrf))
      return renderErrorPage(deps.views, ctx, 403, 'forbidden');
    if (!(await deps.signInLinks.approveLink(token))) return page(ctx, 400, 'Sign-in link', { invalid: true });
    page(ctx, 200, 'Signed in on the other device', { approved: true });
  });
}
