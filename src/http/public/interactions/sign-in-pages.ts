import type { Context } from 'koa';
import type { AuthenticationStrategy, StrategyContext, StrategyId } from '../../../domain/authn/strategy.js';
import type { Views } from '../../views.js';
import { sendPage } from '../pages.js';
import type { Details, InteractionKit } from './interaction-kit.js';
import type { FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';

/** A strategy's key in a page's view model (`oidc:acme` → `oidc_acme`): views name sections by it. */
export const viewKey = (id: string) => id.replace(/\W/g, '_');

/** Pages that need a script of ours (WebAuthn) allow `script-src 'self'`; every other page runs none. */
const needsScript = (model: Record<string, unknown>) => Array.isArray(model.scripts) && model.scripts.length > 0;

/** Sign-in pages as view models: the controller decides which, the strategies fill their parts. */
export class SignInPages {
  constructor(
    private readonly views: Views,
    private readonly kit: InteractionKit,
    private readonly strategies: AuthenticationStrategy[],
    private readonly registrationEnabled: boolean,
    private readonly federation?: FederatedSignIn,
  ) {}

  /** "Continue with <name>" per enabled upstream connection: a form POST to begin/<type>:<slug>. */
  private async connections(d: Details) {
    if (!this.federation) return [];
    return (await this.federation.enabled()).map((c) => ({
      name: c.name,
      action: `/interaction/${d.uid}/begin/${c.type}:${c.slug}`,
      csrf: this.kit.csrf.issue(d.uid, 'login'),
    }));
  }

  private async common(ctx: Context, d: Details) {
    const client = await this.kit.clientOf(ctx, d);
    const name = client?.clientName ?? String(d.params.client_id);
    return {
      clientName: name,
      clientSuffix: ` to ${name}`,
      abortAction: `/interaction/${d.uid}/abort`,
      abortCsrf: this.kit.csrf.issue(d.uid, 'abort'),
    };
  }

  /** The strategies' parts of a page, each under its key, with its form action and CSRF token. */
  private async parts(d: Details, sctx: StrategyContext, ids: readonly StrategyId[]) {
    const model: Record<string, unknown> & { scripts?: string[] } = {};
    const scripts = new Set<string>();
    for (const strategy of this.strategies) {
      if (!ids.includes(strategy.id) || !(await strategy.available(sctx))) continue;
      const part = await strategy.view(sctx);
      for (const s of (part.scripts as string[] | undefined) ?? []) scripts.add(s);
      model[viewKey(strategy.id)] = {
        action: `/interaction/${d.uid}/login/${strategy.id}`,
        beginAction: `/interaction/${d.uid}/begin/${strategy.id}`,
        csrf: this.kit.csrf.issue(d.uid, 'login'),
        ...part,
      };
    }
    model.scripts = [...scripts];
    return model;
  }

  private send(ctx: Context, status: number, view: string, title: string, model: Record<string, unknown>) {
    sendPage(ctx, status, this.views.render(view, title, model), needsScript(model) ? { scriptSelf: true } : undefined);
  }

  async firstFactor(ctx: Context, d: Details, sctx: StrategyContext, failure?: PageFailure): Promise<void> {
    const firsts = this.strategies.filter((s) => s.stage !== 'second').map((s) => s.id);
    const parts = await this.parts(d, sctx, firsts);
    // A strategy in the middle of its own step (an emailed code or link on its way) has its own page.
    const chosen = parts[viewKey(failure?.method ?? String(ctx.query.method ?? ''))] as StepPage | undefined;
    if (chosen?.page && this.views.has(chosen.page))
      return this.send(ctx, failure?.status ?? 200, chosen.page, chosen.title ?? 'Sign in', {
        ...(await this.common(ctx, d)),
        ...chosen,
        error: failure?.message,
        backHref: `/interaction/${d.uid}`,
      });
    this.send(ctx, failure?.status ?? 200, 'login', 'Sign in', {
      ...(await this.common(ctx, d)),
      ...parts,
      connections: sctx.state.pendingLink ? [] : await this.connections(d),
      error: failure?.message,
      email: failure?.values?.email ?? (typeof d.params.login_hint === 'string' ? d.params.login_hint : ''),
      // "Stay signed in" is unticked unless the person ticked it on the form that failed.
      staySignedIn: failure?.values?.remember === 'yes',
      registerHref: this.registrationEnabled ? `/interaction/${d.uid}/register` : undefined,
      forgotHref: `/interaction/${d.uid}/forgot-password`,
    });
  }

  async secondFactor(
    ctx: Context,
    d: Details,
    sctx: StrategyContext,
    methods: StrategyId[],
    chosen: StrategyId,
    failure?: PageFailure,
  ): Promise<void> {
    const parts = await this.parts(d, sctx, methods);
    const base = `/interaction/${d.uid}`;
    // The chosen method's form; a passkey is always offered as a button, the others as links.
    const shown: Record<string, unknown> = { scripts: parts.scripts };
    if (chosen !== 'passkey') shown[viewKey(chosen)] = parts[viewKey(chosen)];
    if (parts.passkey) shown.passkey = parts.passkey;
    this.send(ctx, failure?.status ?? 200, 'second-factor', 'Verify it is you', {
      ...(await this.common(ctx, d)),
      ...shown,
      error: failure?.message,
      totpHref: chosen !== 'totp' && methods.includes('totp') ? `${base}?method=totp` : undefined,
      recoveryHref:
        chosen !== 'recovery_code' && methods.includes('recovery_code') ? `${base}?method=recovery_code` : undefined,
    });
  }

  async enrolChoice(ctx: Context, d: Details, methods: Array<'totp' | 'passkey'>): Promise<void> {
    const base = `/interaction/${d.uid}/enrol`;
    this.send(ctx, 200, 'enrol-choice', 'Set up two-step verification', {
      ...(await this.common(ctx, d)),
      totpHref: methods.includes('totp') ? `${base}/totp` : undefined,
      passkeyHref: methods.includes('passkey') ? `${base}/passkey` : undefined,
    });
  }

  /** A factor's setup page (`enrol-totp`, `enrol-passkey`), with the model its EnrolmentMethod started. */
  async enrol(
    ctx: Context,
    d: Details,
    method: 'totp' | 'passkey',
    model: Record<string, unknown>,
    failure?: { status: number; message: string },
  ): Promise<void> {
    this.send(
      ctx,
      failure?.status ?? 200,
      `enrol-${method}`,
      method === 'totp' ? 'Set up authenticator app' : 'Add a passkey',
      {
        ...(await this.common(ctx, d)),
        ...model,
        error: failure?.message,
        action: `/interaction/${d.uid}/enrol/${method}`,
        csrf: this.kit.csrf.issue(d.uid, `enrol-${method}`),
        backHref: `/interaction/${d.uid}`,
      },
    );
  }

  /** The new recovery codes, shown once, then "Continue" finishes the sign-in. */
  async recoveryCodes(ctx: Context, d: Details, codes: string[]): Promise<void> {
    this.send(ctx, 200, 'recovery-codes', 'Save your recovery codes', {
      ...(await this.common(ctx, d)),
      codes,
      continueAction: `/interaction/${d.uid}/continue`,
      continueCsrf: this.kit.csrf.issue(d.uid, 'continue'),
    });
  }
}

/** A strategy's part that asks for a page of its own (`page`: a view name) while its step is under way. */
type StepPage = Record<string, unknown> & { page?: string; title?: string };

/** A failed attempt, shown on the page it came from. */
export interface PageFailure {
  status: number;
  message: string;
  values?: Record<string, string>;
  /** The method whose form failed (the second-factor page shows that one again). */
  method?: StrategyId;
}
