import { z } from 'zod';

/**
 * What admins send for a connection (POST /admin/connections, PATCH merges into it), per type.
 * Presets fill the upstream's well-known issuer or endpoints and scopes; anything given explicitly
 * wins (e.g. a Microsoft tenant's own issuer).
 */

export const OIDC_PRESETS = {
  google: { issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'] },
  // The multi-tenant issuer: ID tokens carry the tenant's own issuer, validated against `tid`.
  microsoft: { issuer: 'https://login.microsoftonline.com/common/v2.0', scopes: ['openid', 'email', 'profile'] },
  apple: { issuer: 'https://appleid.apple.com', scopes: ['openid', 'email', 'name'] },
  gitlab: { issuer: 'https://gitlab.com', scopes: ['openid', 'email', 'profile'] },
} as const;

export const OAUTH2_PRESETS = {
  github: {
    authorization_endpoint: 'https://github.com/login/oauth/authorize',
    token_endpoint: 'https://github.com/login/oauth/access_token',
    userinfo_endpoint: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
  },
} as const;

export const DEFAULT_OIDC_SCOPES = ['openid', 'email', 'profile'];

/** URL-safe, as it appears in /federation/:slug/callback and /saml/:slug/…. */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL_DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const url = z.string().trim().max(2000).describe('An absolute https URL (http only for loopback upstreams).');
const secret = z.string().min(1).max(20_000);
const claimName = z.string().trim().min(1).max(200);
/** Apple's team and key IDs: 10 upper-case letters and digits (upper-cased here). */
const appleId = (what: string) =>
  z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z0-9]{10}$/, `must be the 10-character ${what} (letters and digits)`);

/** `["openid","email"]` or `"openid email"`; answered as an array. */
const scopes = z
  .union([z.array(z.string().trim().min(1).max(200)).max(50), z.string().max(2000)])
  .transform((v) => (Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean)))
  .refine((v) => v.length > 0, 'must name at least one scope')
  .refine((v) => v.every((s) => !/\s/.test(s)), 'a scope must not contain spaces')
  .transform((v) => [...new Set(v)])
  .describe('Scopes to request: an array or a space-separated string; answered as an array.');

const common = {
  name: z.string().trim().min(1).max(100).describe('The button text: "Continue with <name>".'),
  slug: z
    .string()
    .regex(SLUG, 'must be lower-case letters, digits and inner hyphens (1–63 characters)')
    .optional()
    .describe('URL-safe, unique; default derived from the name.'),
  enabled: z.boolean().default(true),
  domains: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(EMAIL_DOMAIN, 'must be an email domain such as example.com (no @, no scheme)'),
    )
    .max(100)
    .default([])
    .transform((v) => [...new Set(v)])
    .describe('Email domains routed to this connection (home-realm discovery); lower-cased.'),
  enforce_sso: z.boolean().default(false).describe('Refuse password and email sign-in for `domains`.'),
  jit: z.boolean().default(true).describe('Create a local account on first sign-in.'),
  link_existing: z
    .enum(['prompt', 'off'])
    .default('prompt')
    .describe('An existing local account with the email: prompt to sign in to it to link, or refuse.'),
  trusted_mfa: z.boolean().default(false).describe('The upstream’s assertion of MFA counts here.'),
};

export const oidcInputSchema = z
  .object({
    type: z.literal('oidc'),
    ...common,
    preset: z.enum(['google', 'microsoft', 'apple', 'gitlab']).optional(),
    issuer: url.optional().describe('The upstream issuer (discovery); required unless a preset fills it.'),
    client_id: z.string().trim().min(1).max(500),
    client_secret: secret
      .optional()
      .describe(
        'Write-only: sealed under the KEK, never returned. Preset apple: the .p8 private key (PKCS#8 PEM, EC P-256).',
      ),
    scopes: scopes.optional(),
    claims: z.object({ email: claimName, name: claimName, email_verified: claimName }).partial().strict().optional(),
    apple_team_id: appleId('Apple team ID')
      .optional()
      .describe('Preset apple (required): the Apple Developer team ID, 10 characters.'),
    apple_key_id: appleId('Apple key ID')
      .optional()
      .describe(
        'Preset apple (required): the ID of the Sign in with Apple key whose .p8 is the client_secret, 10 characters.',
      ),
  })
  .strict();

export const oauth2InputSchema = z
  .object({
    type: z.literal('oauth2'),
    ...common,
    preset: z.enum(['github']).optional(),
    authorization_endpoint: url.optional(),
    token_endpoint: url.optional(),
    userinfo_endpoint: url.optional(),
    client_id: z.string().trim().min(1).max(500),
    client_secret: secret.optional().describe('Write-only: sealed under the KEK, never returned.'),
    scopes: scopes.optional(),
    claims: z
      .object({ subject: claimName, email: claimName, name: claimName, email_verified: claimName })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

export const samlInputSchema = z
  .object({
    type: z.literal('saml'),
    ...common,
    idp_metadata_xml: z.string().min(1).max(1_000_000).optional(),
    idp_metadata_url: url.optional(),
    attribute_mapping: z.object({ email: claimName, name: claimName }).partial().strict().optional(),
    email_verified: z.boolean().default(false).describe('Whether this IdP’s emails are trusted as verified.'),
    sign_authn_requests: z.boolean().default(true),
    want_assertions_signed: z.boolean().default(true),
    allow_idp_initiated: z.boolean().default(false),
  })
  .strict();

export const connectionInputSchema = z.discriminatedUnion('type', [
  oidcInputSchema,
  oauth2InputSchema,
  samlInputSchema,
]);
export type ConnectionInput = z.infer<typeof connectionInputSchema>;

/** PATCH: any field of any type; merged into the stored connection and validated as a whole. */
export const connectionPatchSchema = z
  .object({
    ...Object.fromEntries(
      Object.entries({ ...oidcInputSchema.shape, ...oauth2InputSchema.shape, ...samlInputSchema.shape }).map(
        ([k, v]) => [k, (v as z.ZodType).optional()],
      ),
    ),
    type: z.enum(['oidc', 'oauth2', 'saml']).optional().describe('Cannot change: delete and create again.'),
    // Both types' presets (spreading the shapes would keep only the last type's enum).
    preset: z
      .enum([...oidcInputSchema.shape.preset.unwrap().options, ...oauth2InputSchema.shape.preset.unwrap().options])
      .optional(),
  })
  .strict() as z.ZodType<Record<string, unknown>>;

/** A slug from the button text: "Acme Corp SSO" → "acme-corp-sso". */
export function slugFrom(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'connection';
}

/** Why an upstream URL is refused, or undefined. http is for loopback upstreams (development, tests). */
export function urlProblem(field: string, value: string, allowHttpLocalhost: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `${field}: must be an absolute URL`;
  }
  if (u.username || u.password) return `${field}: must not contain credentials`;
  if (u.hash) return `${field}: must not contain a fragment`;
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') {
    if (u.hostname === '127.0.0.1' || u.hostname === '[::1]') return undefined;
    if (u.hostname === 'localhost' && allowHttpLocalhost) return undefined;
    return `${field}: must use https (http only for 127.0.0.1, [::1], or localhost in development)`;
  }
  return `${field}: must use https`;
}
