import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_VALUES, type AssuranceLevel, requiredAssurance } from '../domain/authn/authentication-policy.js';
import { requestedAcr } from '../domain/authn/requested-acr.js';

const { Check, base } = interactionPolicy;

/** The login prompt's reason when a session is too weak (the sign-in controller asks only for what is missing). */
export const ACR_STEP_UP = 'acr_step_up';

export interface StepUpOptions {
  /** MFA_REQUIRED: a session that proved one factor (e.g. from before the setting was on) steps up too. */
  mfaRequired: boolean;
}

/** The level a session's acr stands for; none, or a value we do not issue, counts as one factor. */
const sessionLevel = (acr: string | undefined): AssuranceLevel =>
  Math.max(0, ACR_VALUES.indexOf(acr ?? '')) as AssuranceLevel;

/** The level this request needs of a session: what it asks for (RFC 9470), and what client and deployment require. */
function levelFor(ctx: KoaContextWithOIDC, options: StepUpOptions): AssuranceLevel {
  const client = ctx.oidc.client as unknown as { require_mfa?: unknown; require_phishing_resistant?: unknown };
  return requiredAssurance({
    // Checked during sign-in, not against a standing session: enrolling a factor does not end one.
    accountHasSecondFactor: false,
    client: {
      requireMfa: client?.require_mfa === true,
      requirePhishingResistant: client?.require_phishing_resistant === true,
    },
    deploymentRequiresMfa: options.mfaRequired,
    requestedAcr: requestedAcr(ctx.oidc.params as Record<string, unknown>),
  }).level;
}

/**
 * Step-up (RFC 9470): when the session's acr is below what the request asks for (`acr_values`
 * or an essential `acr` claim, weakest known value), or below the client's `require_mfa` /
 * `require_phishing_resistant` or MFA_REQUIRED, the login prompt is shown again. Levels compare
 * in the order of ACR_VALUES (password < mfa < phishing-resistant), so a stronger session
 * satisfies a weaker request. Unknown values are ignored, as the sign-in policy ignores them.
 */
export function acrStepUpCheck(options: StepUpOptions): InstanceType<typeof Check> {
  const description = 'the requested authentication level has not been reached';
  // login_required with prompt=none, as for the login prompt's own checks (added here after the prompt was built).
  return new Check(ACR_STEP_UP, description, 'login_required', async (ctx) => {
    const { oidc } = ctx;
    const session = oidc.session;
    // No session: `no_session` asks for a sign-in, whose policy applies the same requirement.
    if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
    if (sessionLevel(session.acr) >= levelFor(ctx, options)) return Check.NO_NEED_TO_PROMPT;
    // A sign-in just finished below the level: fail instead of asking again in a loop.
    if (oidc.result?.login) throw new errors.AccessDenied('the requested authentication level could not be reached');
    return Check.REQUEST_PROMPT;
  });
}

/**
 * oidc-provider's default policy (login, then consent) with `acr_step_up` on the login prompt.
 * Its own `essential_acr` / `essential_acrs` checks go: they compare values for equality, so a
 * stronger session than the one asked for would be prompted again and again; `acr_step_up`
 * covers essential acr claims with level semantics instead.
 */
export function interactionPolicyWithStepUp(options: StepUpOptions): interactionPolicy.Prompt[] {
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acr');
  login.checks.remove('essential_acrs');
  login.checks.add(acrStepUpCheck(options));
  return policy;
}
