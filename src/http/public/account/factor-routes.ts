import type Router from '@koa/router';
import type { Context } from 'koa';
import type { EnrollingAccount, EnrolmentMethod } from '../../../domain/authn/enrolment.js';
import { GatehouseError } from '../../../domain/errors.js';
import { NOTICES, type Notice } from './account-page.js';
import type { AccountKit, SignedIn } from './account-kit.js';

const TITLES = { totp: 'Set up authenticator app', passkey: 'Add a passkey' } as const;

const enrollingAccount = ({ user }: SignedIn): EnrollingAccount => ({
  id: user.id,
  email: user.email,
  name: user.name,
});

/**
 * Turning factors on and off from the account page, and new recovery codes. Every change needs
 * a recent sign-in (recent-sign-in.ts) and the form's CSRF token; each emits a domain event.
 * The setup pages are the ones the sign-in uses (views `enrol-totp`, `enrol-passkey`), filled
 * by the same EnrolmentMethod, with the pending setup bound to this browser's session.
 */
export function factorRoutes(router: Router, kit: AccountKit): void {
  const { deps, forms } = kit;

  const methodOf = (ctx: Context): EnrolmentMethod => {
    const method = deps.enrolments.find((m) => m.id === ctx.params.method);
    if (!method) throw new GatehouseError('not_found', 'no such sign-in method');
    return method;
  };

  /** TOTP is one per account: its setup page is for turning it on, not for a second one. */
  const alreadyOn = async (ctx: Context, method: EnrolmentMethod) =>
    method.id === 'totp' && (await deps.factors.enrolled(kit.signedIn(ctx).user.id)).totp;

  const showSetup = async (ctx: Context, method: EnrolmentMethod, failure?: { status: number; message: string }) => {
    const who = kit.signedIn(ctx);
    const model = await method.start(enrollingAccount(who), forms.binding(who.session));
    kit.send(ctx, failure?.status ?? 200, `enrol-${method.id}`, TITLES[method.id], {
      ...model,
      error: failure?.message,
      action: forms.enrolHref(method.id),
      csrf: forms.token(who.session, `enrol-${method.id}`),
      backHref: '/account',
    });
  };

  router.get(
    '/account/enrol/:method',
    kit.recent((ctx) => ctx.path),
    async (ctx) => {
      const method = methodOf(ctx);
      if (await alreadyOn(ctx, method)) return kit.done(ctx, 'totp-on');
      await showSetup(ctx, method);
    },
  );

  router.post(
    '/account/enrol/:method',
    kit.recent((ctx) => ctx.path),
    async (ctx) => {
      const method = methodOf(ctx);
      const who = kit.signedIn(ctx);
      const form = ctx.request.body as Record<string, string>;
      forms.check(who.session, `enrol-${method.id}`, form);
      if (await alreadyOn(ctx, method)) return kit.done(ctx, 'totp-on');
      const account = enrollingAccount(who);
      const result = await method.finish(account, forms.binding(who.session), form, kit.origin(ctx));
      if (!result.ok) return showSetup(ctx, method, { status: result.status, message: result.message });
      deps.events.emit(
        { type: 'factor.enrolled', accountId: account.id, factor: method.id, credentialId: result.credentialId },
        kit.origin(ctx),
      );
      const notice: Notice = method.id === 'totp' ? 'totp-on' : 'passkey-added';
      // The first factor comes with recovery codes, shown once, in this response only.
      if (deps.recoveryCodes && !(await deps.recoveryCodes.has(account.id)))
        return showRecoveryCodes(ctx, kit, await issueRecoveryCodes(ctx, kit), notice);
      kit.done(ctx, notice);
    },
  );

  /** "Turn off" (the authenticator app) and "Remove" (a passkey). */
  router.post(
    '/account/factors/:id/remove',
    kit.recent(() => '/account'),
    async (ctx) => {
      const who = kit.signedIn(ctx);
      forms.check(who.session, 'factor', ctx.request.body as Record<string, string>);
      const removed = await deps.factors.remove(who.user.id, String(ctx.params.id));
      deps.events.emit(
        { type: 'factor.removed', accountId: who.user.id, factor: removed.type, credentialId: removed.id, by: 'user' },
        kit.origin(ctx),
      );
      kit.done(ctx, removed.type === 'totp' ? 'totp-off' : 'passkey-removed');
    },
  );

  /** "Generate new recovery codes": a new set, shown once; the old set stops working. */
  router.post(
    '/account/recovery-codes',
    kit.recent(() => '/account'),
    async (ctx) => {
      const who = kit.signedIn(ctx);
      forms.check(who.session, 'recovery', ctx.request.body as Record<string, string>);
      const enrolled = await deps.factors.enrolled(who.user.id);
      if (!deps.recoveryCodes || !(enrolled.totp || enrolled.passkey))
        throw new GatehouseError('invalid_request', 'recovery codes need an authenticator app or a passkey first');
      showRecoveryCodes(ctx, kit, await issueRecoveryCodes(ctx, kit), undefined, true);
    },
  );
}

async function issueRecoveryCodes(ctx: Context, kit: AccountKit): Promise<string[]> {
  const { user } = kit.signedIn(ctx);
  const codes = await kit.deps.recoveryCodes!.generate(user.id);
  kit.deps.events.emit(
    { type: 'factor.enrolled', accountId: user.id, factor: 'recovery_codes', credentialId: 'recovery_codes' },
    kit.origin(ctx),
  );
  return codes;
}

function showRecoveryCodes(ctx: Context, kit: AccountKit, codes: string[], notice?: Notice, replaced = false) {
  kit.send(ctx, 200, 'account-recovery-codes', 'Save your recovery codes', {
    codes,
    notice: notice && NOTICES[notice],
    replaced,
    backHref: '/account',
  });
}
