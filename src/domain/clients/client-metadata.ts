import { z } from 'zod';

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:']);

/** `value` as a URL, or an issue (`message: value`) and undefined when it is not absolute. */
function parseAbsolute(value: string, ctx: z.RefinementCtx, message: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${message}: ${value}` });
    return undefined;
  }
}

/** Absolute URI, no fragment, no script-ish scheme: exact-match redirect targets only. */
const redirectUri = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const url = parseAbsolute(value, ctx, 'redirect URI must be an absolute URI');
    if (!url) return;
    if (FORBIDDEN_SCHEMES.has(url.protocol))
      ctx.addIssue({ code: 'custom', message: `redirect URI scheme ${url.protocol} is not allowed` });
    if (value.includes('#')) ctx.addIssue({ code: 'custom', message: 'redirect URI must not contain a fragment' });
    if (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (!url.hostname || !/^https?:\/\/[^/?#]/i.test(value))
    )
      ctx.addIssue({ code: 'custom', message: 'redirect URI must have a host' });
    if (/[*]/.test(url.hostname)) ctx.addIssue({ code: 'custom', message: 'redirect URI must not contain wildcards' });
  });

/** Below 30 s clock skew between an API and Gatehouse eats most of the token's life. */
export const ACCESS_TOKEN_TTL_MIN_SECONDS = 30;
/** One day: access tokens cannot be recalled from APIs that verify JWTs locally, so keep them short. */
export const ACCESS_TOKEN_TTL_MAX_SECONDS = 86_400;
export const REFRESH_TOKEN_TTL_MIN_SECONDS = 60;
/** One year; the effective lifetime is also capped by REFRESH_TOKEN_TTL_SECONDS and the chain's absolute lifetime. */
export const REFRESH_TOKEN_TTL_MAX_SECONDS = 31_536_000;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A serialized origin (scheme://host[:port], nothing else): https, or http on loopback for development. */
const corsOrigin = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const url = parseAbsolute(value, ctx, 'CORS origin must be an absolute origin');
    if (!url) return;
    if (url.origin !== value)
      ctx.addIssue({
        code: 'custom',
        message: `CORS origin must be scheme://host[:port] with no path or trailing slash: ${value}`,
      });
    else if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: `CORS origin must use https (http only for localhost): ${value}` });
    }
  });

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/** RFC 7591 client metadata that the admin API accepts, plus Gatehouse's own settings. */
export const clientMetadataSchema = z
  .object({
    client_name: z.string().min(1).max(200).optional(),
    redirect_uris: z.array(redirectUri).max(50).optional(),
    post_logout_redirect_uris: z.array(redirectUri).max(50).optional(),
    grant_types: z.array(z.enum(GRANT_TYPES)).min(1).optional(),
    response_types: z.array(z.literal('code')).optional(),
    token_endpoint_auth_method: z.enum(AUTH_METHODS).optional(),
    scope: z
      .string()
      .max(2000)
      .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'scope must be space-separated scope tokens')
      .optional(),
    client_uri: z.url().optional(),
    logo_uri: z.url().optional(),
    policy_uri: z.url().optional(),
    tos_uri: z.url().optional(),
    contacts: z.array(z.string().max(320)).optional(),
    jwks_uri: z.url().optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
    id_token_signed_response_alg: z.enum(['ES256', 'RS256', 'EdDSA', 'PS256']).optional(),
    dpop_bound_access_tokens: z.boolean().optional(),
    require_pushed_authorization_requests: z.boolean().optional(),
    application_type: z.enum(['web', 'native']).optional(),
    /** Gatehouse: trusted first-party app; consent is skipped. */
    first_party: z.boolean().optional(),
    /** Gatehouse: seconds during which a retried refresh of the just-rotated token returns the same successor. */
    refresh_token_grace_seconds: z.number().int().min(0).max(60).optional(),
    /** Gatehouse: include the user's role names as a `roles` claim in ID tokens and userinfo. */
    roles_claim: z.boolean().optional(),
    /** Gatehouse: sign-in assurance this client requires (authentication-policy.ts); absent means false. */
    require_mfa: z
      .boolean()
      .optional()
      .describe(
        'Sign-ins need two factors (acr urn:gatehouse:acr:mfa or stronger); older sessions step up. @default false',
      ),
    require_phishing_resistant: z
      .boolean()
      .optional()
      .describe(
        'Sign-ins need a passkey with user verification (urn:gatehouse:acr:phishing-resistant). @default false',
      ),
    /** Gatehouse: lifetime of this client's access tokens (an API's own, shorter, lifetime still wins). */
    access_token_ttl_seconds: z
      .number()
      .int()
      .min(ACCESS_TOKEN_TTL_MIN_SECONDS)
      .max(ACCESS_TOKEN_TTL_MAX_SECONDS)
      .optional(),
    /** Gatehouse: caps each refresh token of this client; the chain's absolute lifetime still applies. */
    refresh_token_ttl_seconds: z
      .number()
      .int()
      .min(REFRESH_TOKEN_TTL_MIN_SECONDS)
      .max(REFRESH_TOKEN_TTL_MAX_SECONDS)
      .optional(),
    /** Gatehouse: browser origins allowed to call the token, introspection, revocation, PAR and userinfo endpoints for this client. */
    allowed_cors_origins: z.array(corsOrigin).max(50).optional(),
  })
  .strict();

export type ClientMetadataInput = z.infer<typeof clientMetadataSchema>;
/** A rotated-out secret, still accepted until `expires_at` (epoch seconds); only its hash is kept. */
export interface PreviousClientSecret {
  hash: string;
  expires_at: number;
}

export type ClientMetadata = ClientMetadataInput & {
  client_id: string;
  /** Hash of the current secret (never the plaintext). */
  client_secret?: string;
  client_id_issued_at: number;
  /** Hashes of rotated-out secrets during their overlap window. */
  client_secrets_previous?: PreviousClientSecret[];
};
