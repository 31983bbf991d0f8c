import { z } from 'zod';
import { clientMetadataSchema } from '../../domain/clients/client-metadata.js';
import { permissionSchema } from '../../domain/authorization/roles.js';
import { resourceInputSchema } from '../../domain/resources/resources.js';
import { emailField, nameField } from '../../domain/accounts/user-fields.js';

/**
 * What the admin API answers with and the query strings it reads, as zod schemas: the OpenAPI
 * document is generated from them (z.toJSONSchema), and the OpenAPI test parses real answers
 * with them, so a field added to a response without being described here fails a test.
 */

const isoTime = z.iso.datetime({ offset: true }).describe('RFC 3339 time');
const nullableTime = isoTime.nullable();

export const userResponse = z
  .object({
    id: z.string().describe('User id (UUID); the `sub` claim.'),
    email: emailField,
    name: nameField,
    email_verified: z.boolean().describe('Whether the email address is known to belong to the user.'),
    disabled: z.boolean().describe('A disabled user cannot sign in.'),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .strict();

/** One user (GET /admin/users/:id, POST …/unlock): the user with the state of the per-account password limit. */
export const userDetailResponse = userResponse
  .extend({
    failed_attempts: z
      .number()
      .int()
      .min(0)
      .describe('Consecutive failed passwords for this email (cleared by a success, a reset or an unlock).'),
    locked_until: nullableTime.describe(
      'Until when password sign-in is held (slow-down or lock); null when it is not. ' +
        '9999-12-31T23:59:59.000Z: locked until a password reset or POST /admin/users/{id}/unlock.',
    ),
  })
  .strict();

export const clientResponse = clientMetadataSchema
  .extend({
    client_id: z.string().describe('The client identifier (generated).'),
    client_id_issued_at: z.number().int().describe('When the client was registered (epoch seconds).'),
    client_secret: z
      .string()
      .optional()
      .describe('The client secret: only in the answer that created or rotated it; stored as a hash.'),
    client_secret_expires_at: z.number().int().optional().describe('0: the secret does not expire (RFC 7591).'),
  })
  .passthrough();

export const secretRotationResponse = z
  .object({
    client_id: z.string(),
    client_secret: z.string().describe('The new secret, shown once.'),
    client_secret_expires_at: z.number().int(),
    previous_secret_expires_at: z
      .number()
      .int()
      .nullable()
      .describe('Until when the outgoing secret still works (epoch seconds).'),
  })
  .strict();

export const resourceResponse = resourceInputSchema.extend({ created_at: isoTime, updated_at: isoTime }).passthrough();

export const roleResponse = z
  .object({
    id: z.string(),
    name: z.string().describe('Role name (unique).'),
    description: z.string().optional(),
    permissions: z.array(permissionSchema).describe('Scopes of registered APIs the role grants.'),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .strict();

export const effectivePermissionsResponse = z
  .object({
    roles: z.array(z.string()).describe('Names of the roles the user holds.'),
    direct: z.array(permissionSchema).describe('Permissions granted to the user directly.'),
    effective: z.array(permissionSchema).describe('The union of both: what tokens may carry.'),
  })
  .strict();

export const signingKeyResponse = z
  .object({
    kid: z.string(),
    alg: z.enum(['ES256', 'RS256', 'EdDSA']),
    state: z.enum(['next', 'current', 'previous', 'retired']).describe('Derived from the stored times.'),
    created_at: isoTime,
    activated_at: isoTime.describe('When it signs (or signed) first.'),
    deactivated_at: nullableTime,
    retired_at: nullableTime.describe('When it leaves JWKS.'),
    revoked_at: nullableTime,
    public_jwk: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('The public key as published in JWKS; null once retired.'),
  })
  .strict();

export const sessionResponse = z
  .object({
    uid: z.string().describe('Session uid (not the cookie value).'),
    created_at: nullableTime,
    expires_at: nullableTime,
    login_at: nullableTime,
    client_ids: z.array(z.string()).describe('Clients that used the session.'),
  })
  .strict();

export const factorResponse = z
  .object({
    id: z.string().describe('Factor id (for DELETE /admin/users/{id}/factors/{factorId}).'),
    type: z
      .enum(['totp', 'passkey', 'recovery_codes'])
      .describe('totp: an authenticator app; passkey; recovery_codes: the set of recovery codes.'),
    name: z.string().optional().describe('The name the person gave it (passkeys).'),
    created_at: isoTime,
    last_used_at: nullableTime,
  })
  .strict();

export const linkedIdentityResponse = z
  .object({
    id: z.string().describe('Linked identity id (for DELETE /admin/users/{id}/identities/{identityId}).'),
    connection_id: z.string(),
    connection_slug: z.string(),
    connection_name: z.string().describe('The connection’s name (its button text).'),
    subject: z.string().describe('The upstream subject: OIDC `sub`, OAuth 2.0 user id or SAML NameID.'),
    email: z
      .string()
      .nullable()
      .describe('The upstream’s email at link time (shown only; never used to find the account).'),
    linked_at: isoTime,
    last_used_at: nullableTime,
  })
  .strict();

export const factorsResetResponse = z
  .object({ removed: z.number().int().describe('How many factors were removed (0: there were none).') })
  .strict();

export const grantResponse = z
  .object({
    id: z.string(),
    client_id: z.string(),
    scopes: z.array(z.string()).describe('OpenID scopes granted.'),
    resources: z
      .array(z.object({ indicator: z.string(), scopes: z.array(z.string()) }))
      .describe('API scopes granted, per API.'),
    created_at: nullableTime,
    expires_at: nullableTime,
  })
  .strict();

export const auditEventResponse = z
  .object({
    id: z.string().describe('Event id; increasing, the `after` cursor.'),
    occurred_at: isoTime,
    type: z.string().describe('Event type, e.g. login.succeeded, client.updated.'),
    actor: z.string().describe('user:<id>, client:<id>, admin:<identity>, anonymous or system.'),
    subject: z.string().nullable().describe('The user the event is about.'),
    client_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).describe('Details; never secrets, tokens or hashes.'),
  })
  .strict();

/** `{ items }`, and for paginated lists `next_cursor` (pass it as `after`; null on the last page). */
export const listOf = (item: z.ZodType) => z.object({ items: z.array(item) });
export const pageOf = (item: z.ZodType) =>
  z
    .object({
      items: z.array(item),
      next_cursor: z.string().nullable().describe('Pass as `after` for the next page; null when this is the last.'),
    })
    .strict();

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional().describe('Items per page, 1–200. @default 50'),
  after: z.string().optional().describe('The `next_cursor` of the previous page.'),
});
export const usersQuery = pageQuery.extend({
  q: z.string().max(200).optional().describe('Case-insensitive substring of the email or the name.'),
});
export const auditQuery = pageQuery.extend({
  type: z.string().optional().describe('Only events of this type.'),
  user: z.string().optional().describe('Only events about this user id.'),
  client: z.string().optional().describe('Only events of this client id.'),
  since: isoTime.optional().describe('Inclusive lower bound (RFC 3339).'),
  until: isoTime.optional().describe('Exclusive upper bound (RFC 3339).'),
});
export const permissionQuery = z.object({
  resource: z.string().describe('The API (resource indicator).'),
  scope: z.string().describe('The scope of that API.'),
});

export const outboxMessageResponse = z
  .object({
    id: z.string().describe('Message id; the `after` cursor. Also the local part of the Message-ID header.'),
    to: z.string().describe('Recipient address.'),
    template: z.string().describe('The email template, e.g. verify-email, password-reset.'),
    subject: z.string(),
    text: z.string().describe('Plain-text body; empty once sent or failed (it holds working links).'),
    html: z.string().describe('HTML body; empty once sent or failed.'),
    status: z
      .enum(['queued', 'sending', 'sent', 'failed'])
      .describe(
        'queued: waiting (no SMTP_URL, or a retry is due later); sending: claimed by a worker; failed: given up.',
      ),
    attempts: z.number().int().describe('Send attempts so far.'),
    last_error: z.string().nullable().describe('Why the last attempt failed (SMTP answer or network error).'),
    created_at: isoTime,
    sent_at: isoTime.optional().describe('When the SMTP server accepted it; only once sent.'),
  })
  .strict();
export const outboxQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional().describe('Items per page, 1–200. @default 50'),
  after: z.string().max(100).optional().describe('The id of the last message of the previous page.'),
  to: z.string().trim().max(320).optional().describe('Only messages to this address (exact, case-insensitive).'),
});

const connectionCommon = {
  id: z.string().describe('Connection id (UUID).'),
  slug: z.string().describe('URL-safe, unique: /federation/{slug}/callback, /saml/{slug}/….'),
  name: z.string().describe('The button text: "Continue with <name>".'),
  enabled: z.boolean(),
  domains: z.array(z.string()).describe('Email domains routed to this connection (lower-case).'),
  enforce_sso: z.boolean().describe('Password and email sign-in are refused for `domains`.'),
  jit: z.boolean().describe('Create a local account on first sign-in.'),
  link_existing: z.enum(['prompt', 'off']),
  trusted_mfa: z.boolean(),
  created_at: isoTime,
  updated_at: isoTime,
};
const claimMap = z.record(z.string(), z.string());
const oauthCommon = {
  client_id: z.string(),
  client_secret_set: z.boolean().describe('Whether a client secret is stored (sealed; it is never returned).'),
  scopes: z.array(z.string()),
  callback_url: z.string().describe('Register this at the upstream: <ISSUER>/federation/{slug}/callback.'),
};

/** One connection: the common fields, the type's settings and the URLs to register at the upstream. */
export const connectionResponse = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('oidc'),
      ...connectionCommon,
      ...oauthCommon,
      issuer: z.string().describe('Microsoft preset: the multi-tenant issuer; tokens are checked by `tid`.'),
      preset: z.enum(['google', 'microsoft', 'apple', 'gitlab']).optional(),
      claims: claimMap.optional(),
      apple_team_id: z.string().optional().describe('Preset apple: the Apple Developer team ID.'),
      apple_key_id: z.string().optional().describe('Preset apple: the key ID of the .p8 sealed as the client secret.'),
    })
    .strict(),
  z
    .object({
      type: z.literal('oauth2'),
      ...connectionCommon,
      ...oauthCommon,
      authorization_endpoint: z.string(),
      token_endpoint: z.string(),
      userinfo_endpoint: z.string(),
      preset: z.enum(['github']).optional(),
      claims: claimMap.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('saml'),
      ...connectionCommon,
      idp_metadata_xml: z.string().optional(),
      idp_metadata_url: z.string().optional(),
      attribute_mapping: claimMap.optional(),
      email_verified: z.boolean().describe('Whether this IdP’s emails are trusted as verified.'),
      sign_authn_requests: z.boolean(),
      want_assertions_signed: z.boolean(),
      allow_idp_initiated: z.boolean(),
      sp_metadata_url: z.string().describe('<ISSUER>/saml/{slug}/metadata (public port).'),
      sp_entity_id: z.string().describe('<ISSUER>/saml/{slug}'),
      acs_url: z.string().describe('<ISSUER>/saml/{slug}/acs'),
    })
    .strict(),
]);
