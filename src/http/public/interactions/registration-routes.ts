import type Router from '@koa/router';
import type { Context } from 'koa';
import { NAME_MAX_LENGTH, registrationSchema } from '../../../domain/accounts/user-fields.js';
import type { Users } from '../../../domain/accounts/users.js';
import { applyProof, EMPTY_SIGN_IN, type SignInState } from '../../../domain/authn/sign-in-state.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { Views } from '../../views.js';
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
  throttled: (ctx: Context, next: () => Promise<unknown>) => Promise<void>;
}

/**
 * "Create an account" while signing in. A new account goes through the same policy as a
 * sign-in (its password is the first factor), so MFA_REQUIRED or a client's `require_mfa`
 * asks a new account to set up a second factor before the sign-in finishes.
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
    try {
      const user = await deps.users.create(parsed.data);
      deps.events.emit(
        { type: 'user.registered', accountId: user.id, clientId: String(d.params.client_id) },
        kit.origin(ctx),
      );
      const state = applyProof(EMPTY_SIGN_IN, 'password', user.id, {
        amr: ['pwd'],
        factors: ['knowledge'],
        phishingResistant: false,
      });
      await deps.progress(ctx, d, state);
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'invalid_password')
        return render(ctx, d, 400, `Password ${err.message.replace(/^password /, '')}.`, form);
      // Same answer as success would need an email loop; until email verification exists, say it plainly.
      if (err instanceof GatehouseError && err.code === 'conflict')
        return render(ctx, d, 409, 'An account with this email already exists. Sign in instead.', form);
      throw err;
    }
  });
}
