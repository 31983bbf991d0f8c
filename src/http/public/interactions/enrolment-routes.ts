import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Users } from '../../../domain/accounts/users.js';
import type { NextStep } from '../../../domain/authn/authentication-policy.js';
import type { EnrollingAccount, EnrolmentMethod, RecoveryCodeIssuer } from '../../../domain/authn/enrolment.js';
import { applyProof, type SignInState } from '../../../domain/authn/sign-in-state.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import type { SignInPages } from './sign-in-pages.js';
import { STATE_KEY, signInState } from './sign-in-progress.js';

interface EnrolmentDeps {
  users: Users;
  events: DomainEvents;
  enrolments: EnrolmentMethod[];
  recoveryCodes?: RecoveryCodeIssuer;
  kit: InteractionKit;
  pages: SignInPages;
  /** The interaction of this request while its login prompt is open. */
  openLogin(ctx: Context): Promise<Details>;
  /** What the policy asks for next (the controller's `next`). */
  next(ctx: Context, d: Details, state: SignInState): Promise<NextStep>;
  /** Continues the sign-in (the controller's `progress`). */
  progress(ctx: Context, d: Details, state: SignInState): Promise<void>;
}

/**
 * Setting up a second factor during sign-in, when the policy requires one and the account has
 * none: GET|POST /:uid/enrol/:method, then (the first time) the recovery codes, shown once, and
 * POST /:uid/continue. The same EnrolmentMethods serve the account page.
 */
export function enrolmentRoutes(router: Router, deps: EnrolmentDeps): void {
  /** The enrolment named in the path, when the policy asks for it now. */
  const enrolling = async (ctx: Context, d: Details) => {
    const state = signInState(d);
    const step = await deps.next(ctx, d, state);
    const method = deps.enrolments.find((m) => m.id === ctx.params.method);
    if (!method || step.next !== 'enrol' || !step.methods.includes(method.id) || !state.accountId)
      throw new GatehouseError('invalid_request', 'nothing to set up at this step of the sign-in');
    const user = await deps.users.get(state.accountId);
    const account: EnrollingAccount = { id: user.id, email: user.email, name: user.name };
    return { method, account, state };
  };

  router.get('/:uid/enrol/:method', async (ctx) => {
    const d = await deps.openLogin(ctx);
    const { method, account } = await enrolling(ctx, d);
    const model = await method.start(account, `interaction:${d.uid}`);
    deps.pages.enrol(ctx, d, method.id, model);
  });

  router.post('/:uid/enrol/:method', async (ctx) => {
    const d = await deps.openLogin(ctx);
    const form = ctx.request.body as Record<string, string>;
    deps.kit.checkCsrf(d, `enrol-${ctx.params.method}`, form);
    const { method, account, state } = await enrolling(ctx, d);
    const result = await method.finish(account, `interaction:${d.uid}`, form, deps.kit.origin(ctx));
    if (!result.ok) {
      const model = await method.start(account, `interaction:${d.uid}`);
      return deps.pages.enrol(ctx, d, method.id, model, { status: result.status, message: result.message });
    }
    deps.events.emit(
      {
        type: 'factor.enrolled',
        accountId: account.id,
        factor: method.id,
        credentialId: result.credentialId,
        clientId: String(d.params.client_id),
      },
      deps.kit.origin(ctx),
    );
    const updated = applyProof(state, method.id, account.id, result.proof);
    if (deps.recoveryCodes && !(await deps.recoveryCodes.has(account.id))) {
      // Shown once, in this response only: the codes are never stored in the clear, not even on the interaction.
      const codes = await deps.recoveryCodes.generate(account.id);
      deps.events.emit(
        { type: 'factor.enrolled', accountId: account.id, factor: 'recovery_codes', credentialId: 'recovery_codes' },
        deps.kit.origin(ctx),
      );
      await deps.kit.remember(d, { [STATE_KEY]: updated });
      return deps.pages.recoveryCodes(ctx, d, codes);
    }
    await deps.progress(ctx, d, updated);
  });

  /** "Continue" after the recovery codes were shown. */
  router.post('/:uid/continue', async (ctx) => {
    const d = await deps.openLogin(ctx);
    deps.kit.checkCsrf(d, 'continue', ctx.request.body as Record<string, string>);
    await deps.progress(ctx, d, signInState(d));
  });
}
