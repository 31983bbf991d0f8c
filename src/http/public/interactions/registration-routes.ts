import type Router from '@koa/router';
import type { Context } from 'koa';
import { NAME_MAX_LENGTH, registrationSchema } from '../../../domain/accounts/user-fields.js';
import type { RegistrationOutcome, Registrations } from '../../../domain/accounts/registrations.js';
import type { Users } from '../../../domain/accounts/users.js';
import { applyProof, EMPTY_SIGN_IN, type SignInState } from '../../../domain/authn/sign-in-state.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { Views } from '../../views.js';
import { checkEmailPage, linkKey, passwordMessage, tooManyEmailsPage, verificationPage } from '../email/email-pages.js';
import { sendPage } from '../pages.js';
import type { Details, InteractionKit } from './interaction-kit.js';

interface RegistrationDeps {
  views: Views;
  users: Users;
  events: DomainEvents;
  kit: InteractionKit;
  /** Continues the sign-in the new account started (the controller's policy step). */
  progress(ctx: Context, d: Details, state: SignInState): Promise<void>;
  registrationEnabled: boolean;
  passwordMinLength: number;
  registrations: Registrations;
  throttled: (ctx: Context, next: () => Promise<unknown>) => Promise<void>;
}

/**
 * "Create an account" while signing in. The form always answers "Check your email", for a new
 * and for a taken address alike (EMAIL_VERIFICATION=required|optional; `off` signs in at once and
 * says when an address is taken). A new account goes through the same policy as a sign-in (its
 * password is the first factor), so MFA_REQUIRED or a client's `require_mfa` asks it to set up a
 * second factor before the sign-in finishes.
 */
export function registrationRoutes(router: Router, deps: RegistrationDeps): void {
  const { kit, views } = deps;

  /** An account is made only while signing in: never on a consent step, where a session already exists. */
  const openRegistration = async (ctx: Context) => {
    if (!deps.registrationEnabled) throw new GatehouseError('not_found', 'registration is disabled');
    const d = await kit.details(ctx);
    if (d.prompt.name !== 'login')
      throw new GatehouseError('invalid_request', 'registration is only possible while signing in');
    await kit.clientOf(ctx, d);
    return d;
  };

  const render = (ctx: Context, d: Details, status = 200, error?: string, values: Record<string, string> = {}) =>
    sendPage(
      ctx,
      status,
      views.render('register', 'Create account', {
        clientSuffix: '',
        error,
        action: `/interaction/${d.uid}/register`,
        csrf: kit.csrf.issue(d.uid, 'register'),
        name: values.name ?? '',
        email: values.email ?? '',
        minLength: deps.passwordMinLength,
        loginHref: `/interaction/${d.uid}`,
      }),
    );

  router.get('/:uid/register', async (ctx) => render(ctx, await openRegistration(ctx)));

  router.post('/:uid/register', deps.throttled, async (ctx) => {
    const d = await openRegistration(ctx);
    const form = ctx.request.body as Record<string, string>;
    kit.checkCsrf(d, 'register', form);
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
      return render(ctx, d, 400, message, form);
    }
    let outcome: RegistrationOutcome;
    try {
      outcome = await deps.registrations.start({
        ...parsed.data,
        clientAddress: ctx.ip,
        interactionUid: d.uid,
        clientId: String(d.params.client_id),
        origin: kit.origin(ctx),
      });
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'invalid_password')
        return render(ctx, d, 400, passwordMessage(err.message), form);
      // EMAIL_VERIFICATION=off only: without an email loop the answer cannot hide a taken address.
      if (err instanceof GatehouseError && err.code === 'conflict')
        return render(ctx, d, 409, 'An account with this email already exists. Sign in instead.', form);
      throw err;
    }
    if (outcome.kind === 'throttled')
      return tooManyEmailsPage(views, ctx, outcome.retryAfterSeconds, `/interaction/${d.uid}/register`);
    if (outcome.kind === 'signed_up') return deps.progress(ctx, d, passwordProof(outcome.user.id));
    // Optional mode: the new account (and only it) is remembered on this interaction for "Continue".
    if (outcome.accountId) await kit.remember(d, { [REGISTERED_KEY]: outcome.accountId });
    const optional = deps.registrations.mode === 'optional';
    checkEmailPage(views, ctx, {
      message: `We sent an email to ${parsed.data.email}. ${
        optional ? 'Follow the link in it to confirm your address.' : 'Follow the link in it to finish signing up.'
      }`,
      hint: 'The link works for 24 hours. Nothing arrived? Check your spam folder.',
      ...(optional
        ? { continueAction: `/interaction/${d.uid}/register/continue`, continueCsrf: kit.csrf.issue(d.uid, 'continue') }
        : { backHref: `/interaction/${d.uid}`, backLabel: 'Back to sign in' }),
    });
  });

  /**
   * Optional mode, "Continue" on the check-your-email page: a new account signs in (its password
   * was the first factor); for a taken address nothing was remembered, and the sign-in page asks
   * for the password, as it would for anyone.
   */
  router.post('/:uid/register/continue', async (ctx) => {
    const d = await openRegistration(ctx);
    kit.checkCsrf(d, 'continue', ctx.request.body as Record<string, string>);
    const accountId = (d.result as Record<string, unknown> | undefined)?.[REGISTERED_KEY];
    if (typeof accountId === 'string') return deps.progress(ctx, d, passwordProof(accountId));
    ctx.status = 303;
    ctx.redirect(`/interaction/${d.uid}`);
  });

  /**
   * The confirm button of a verification link, posted to the interaction the registration came
   * from (its cookie is scoped to this path). In the browser that registered, with the sign-in
   * still open, the new account signs in through the policy (MFA_REQUIRED still applies);
   * anywhere else the account is made and the page says "Email verified".
   */
  router.post('/:uid/verify-email', async (ctx) => {
    const form = ctx.request.body as Record<string, string>;
    const token = typeof form.token === 'string' ? form.token : '';
    if (!token || !kit.csrf.valid(linkKey(token), 'verify-email', form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; open the link again');
    const d = await kit.details(ctx).catch(() => undefined);
    const outcome = await deps.registrations.verify(token, kit.origin(ctx));
    const waiting = d && d.prompt.name === 'login' && outcome.kind !== 'invalid' && outcome.kind !== 'exists';
    if (waiting && outcome.interactionUid === d.uid) {
      await kit.clientOf(ctx, d);
      return deps.progress(ctx, d, passwordProof(outcome.user.id));
    }
    verificationPage(views, ctx, outcome);
  });
}

/** The interaction's result key for an account made in optional mode, waiting for "Continue". */
const REGISTERED_KEY = 'gatehouseRegisteredAccount';

/** The account's password, chosen in this interaction, is its first factor. */
const passwordProof = (accountId: string) =>
  applyProof(EMPTY_SIGN_IN, 'password', accountId, { amr: ['pwd'], factors: ['knowledge'], phishingResistant: false });
