import { z } from 'zod';
import { clientMetadataSchema } from '../../../domain/clients/client-metadata.js';
import { resourceInputSchema, resourcePatchSchema } from '../../../domain/resources/resources.js';
import { op, type AdminOperation } from '../openapi.js';
import { permissionSchema, roleInputSchema, rolePatchSchema } from '../../../domain/authorization/roles.js';
import { createUserSchema, updateUserSchema } from './users-routes.js';
import { rotateSecretSchema } from './clients-routes.js';
import { rotateKeysSchema } from './keys-routes.js';
import { connectionInputSchema, connectionPatchSchema } from '../../../domain/federation/connection-input.js';
import {
  auditEventResponse,
  auditQuery,
  clientResponse,
  connectionResponse,
  effectivePermissionsResponse,
  factorResponse,
  factorsResetResponse,
  grantResponse,
  linkedIdentityResponse,
  listOf,
  outboxMessageResponse,
  outboxQuery,
  pageOf,
  pageQuery,
  permissionQuery,
  resourceResponse,
  roleResponse,
  secretRotationResponse,
  sessionResponse,
  signingKeyResponse,
  userDetailResponse,
  userResponse,
  usersQuery,
} from '../admin-schemas.js';

/**
 * The admin API as documented in /admin/openapi.json: one line per route, with the same zod
 * schema the route validates its body with. A route missing here still appears in the document
 * (as `x-undocumented`); an entry whose route is not registered is left out.
 */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  op('get', '/metrics', 'Prometheus metrics (text exposition); served without the admin key', [200], undefined, {
    public: true,
    responseType: 'text/plain',
  }),
  op('get', '/admin/openapi.json', 'This OpenAPI document', [200], undefined, {
    response: z.record(z.string(), z.unknown()),
  }),

  op(
    'post',
    '/admin/clients',
    'Register a client (RFC 7591 metadata); the secret is shown once',
    [201, 400],
    clientMetadataSchema,
    { response: clientResponse },
  ),
  op('get', '/admin/clients', 'List clients, oldest first, a page at a time', [200, 400], undefined, {
    query: pageQuery,
    response: pageOf(clientResponse),
  }),
  op('get', '/admin/clients/:id', 'Read a client', [200, 404], undefined, { response: clientResponse }),
  op('patch', '/admin/clients/:id', 'Change a client’s metadata', [200, 400, 404], clientMetadataSchema.partial(), {
    response: clientResponse,
  }),
  op('delete', '/admin/clients/:id', 'Delete a client and revoke what was issued to it', [204, 404]),
  op(
    'post',
    '/admin/clients/:id/secret',
    'Rotate a client’s secret: the new one is shown once, the old one works for overlap_seconds (default 86400)',
    [200, 400, 404, 409],
    rotateSecretSchema,
    { response: secretRotationResponse },
  ),

  op(
    'post',
    '/admin/connections',
    'Add an upstream identity provider (oidc, oauth2 or saml); the client secret is write-only',
    [201, 400, 409],
    connectionInputSchema,
    { response: connectionResponse },
  ),
  op('get', '/admin/connections', 'List connections, oldest first', [200], undefined, {
    response: listOf(connectionResponse),
  }),
  op('get', '/admin/connections/:id', 'Read a connection (never its secret)', [200, 404], undefined, {
    response: connectionResponse,
  }),
  op(
    'patch',
    '/admin/connections/:id',
    'Change a connection: the given fields replace the stored ones (the type cannot change)',
    [200, 400, 404, 409],
    connectionPatchSchema,
    { response: connectionResponse },
  ),
  op('delete', '/admin/connections/:id', 'Delete a connection and the identities linked through it', [204, 404]),

  op('post', '/admin/users', 'Create a user', [201, 400, 409], createUserSchema, { response: userResponse }),
  op('get', '/admin/users', 'List users, a page at a time, optionally searched', [200, 400], undefined, {
    query: usersQuery,
    response: pageOf(userResponse),
  }),
  op(
    'get',
    '/admin/users/:id',
    'Read a user, with the password limit (failed_attempts, locked_until)',
    [200, 404],
    undefined,
    {
      response: userDetailResponse,
    },
  ),
  op(
    'patch',
    '/admin/users/:id',
    'Change a user (email, password, name, disabled …)',
    [200, 400, 404, 409],
    updateUserSchema,
    { response: userResponse },
  ),
  op('delete', '/admin/users/:id', 'Delete a user and revoke their grants', [204, 404]),
  op(
    'post',
    '/admin/users/:id/disable',
    'Disable a user (ends their sessions, grants and tokens)',
    [200, 404],
    undefined,
    { response: userResponse },
  ),
  op('post', '/admin/users/:id/enable', 'Enable a user', [200, 404], undefined, { response: userResponse }),
  op(
    'post',
    '/admin/users/:id/unlock',
    'Unlock password sign-in: clears the failed-password count, any wait and any lock (audited)',
    [200, 404],
    undefined,
    { response: userDetailResponse },
  ),
  op('get', '/admin/users/:id/sessions', 'A user’s browser sessions', [200, 404], undefined, {
    response: listOf(sessionResponse),
  }),
  op('delete', '/admin/users/:id/sessions', 'End all of a user’s sessions', [204, 404]),
  op('delete', '/admin/users/:id/sessions/:sid', 'End one session (by its uid)', [204, 404]),
  op('get', '/admin/users/:id/grants', 'A user’s grants', [200, 404], undefined, { response: listOf(grantResponse) }),
  op('delete', '/admin/users/:id/grants/:grantId', 'Revoke a grant and what was issued from it', [204, 404]),
  op('get', '/admin/users/:id/factors', 'A user’s second factors (never the password)', [200, 404], undefined, {
    response: z.array(factorResponse),
  }),
  op(
    'delete',
    '/admin/users/:id/factors',
    'Remove all of a user’s second factors (a lost device): the account is back to password only',
    [200, 404],
    undefined,
    { response: factorsResetResponse },
  ),
  op(
    'delete',
    '/admin/users/:id/factors/:factorId',
    'Remove one second factor (the recovery codes go with the last authenticator app or passkey)',
    [204, 404],
  ),
  op('get', '/admin/users/:id/identities', 'A user’s linked upstream identities', [200, 404], undefined, {
    response: z.array(linkedIdentityResponse),
  }),
  op(
    'delete',
    '/admin/users/:id/identities/:identityId',
    'Unlink an upstream identity (even the last way to sign in; audited as identity.unlinked)',
    [204, 404],
  ),

  op('post', '/admin/resources', 'Register an API (resource indicator)', [201, 400, 409], resourceInputSchema, {
    response: resourceResponse,
  }),
  op('get', '/admin/resources', 'List APIs', [200], undefined, { response: listOf(resourceResponse) }),
  op('get', '/admin/resources/:indicator', 'Read an API', [200, 404], undefined, { response: resourceResponse }),
  op('patch', '/admin/resources/:indicator', 'Change an API', [200, 400, 404], resourcePatchSchema, {
    response: resourceResponse,
  }),
  op('delete', '/admin/resources/:indicator', 'Delete an API', [204, 404]),

  op('post', '/admin/roles', 'Create a role: a name and scopes of registered APIs', [201, 400, 409], roleInputSchema, {
    response: roleResponse,
  }),
  op('get', '/admin/roles', 'List roles', [200], undefined, { response: listOf(roleResponse) }),
  op('get', '/admin/roles/:role', 'Read a role (by name)', [200, 404], undefined, { response: roleResponse }),
  op(
    'patch',
    '/admin/roles/:role',
    'Change a role (permissions given replace the set)',
    [200, 400, 404, 409],
    rolePatchSchema,
    { response: roleResponse },
  ),
  op('delete', '/admin/roles/:role', 'Delete a role and its assignments', [204, 404]),
  op('get', '/admin/users/:id/roles', 'A user’s roles', [200, 404], undefined, { response: listOf(roleResponse) }),
  op('put', '/admin/users/:id/roles/:role', 'Assign a role to a user', [204, 400, 404, 409]),
  op('delete', '/admin/users/:id/roles/:role', 'Take a role from a user', [204, 400, 404]),
  op(
    'get',
    '/admin/users/:id/permissions',
    'A user’s roles, direct permissions and effective permissions (their union)',
    [200, 404],
    undefined,
    { response: effectivePermissionsResponse },
  ),
  op(
    'put',
    '/admin/users/:id/permissions',
    'Grant a user one permission directly',
    [204, 400, 404, 409],
    permissionSchema,
  ),
  op('delete', '/admin/users/:id/permissions', 'Revoke a user’s direct permission', [204, 400, 404], undefined, {
    query: permissionQuery,
  }),
  op(
    'get',
    '/admin/clients/:id/roles',
    'A client’s roles (they restrict client_credentials tokens)',
    [200, 404],
    undefined,
    { response: listOf(roleResponse) },
  ),
  op('put', '/admin/clients/:id/roles/:role', 'Assign a role to a client', [204, 400, 404, 409]),
  op('delete', '/admin/clients/:id/roles/:role', 'Take a role from a client', [204, 400, 404]),

  op(
    'get',
    '/admin/keys',
    'Signing keys with their state (next, current, previous, retired) and times',
    [200],
    undefined,
    { response: listOf(signingKeyResponse) },
  ),
  op(
    'post',
    '/admin/keys/rotate',
    'Stage new signing keys: published in JWKS now, signing after publish_seconds; the replaced keys stay published until their tokens expired. emergency: revoke the signing keys now',
    [201, 400, 409],
    rotateKeysSchema,
    {
      response: z.object({
        items: z.array(signingKeyResponse),
        revoked: z.array(signingKeyResponse).optional().describe('emergency: the keys revoked'),
      }),
    },
  ),
  op(
    'post',
    '/admin/keys/:kid/revoke',
    'Revoke a key now (compromise): it leaves JWKS at once; a replacement signs if it was signing',
    [200, 404, 409],
    undefined,
    { response: z.object({ revoked: signingKeyResponse, replacement: signingKeyResponse.optional() }) },
  ),

  op('get', '/admin/audit-events', 'Audit events, newest first, a page at a time', [200, 400], undefined, {
    query: auditQuery,
    response: pageOf(auditEventResponse),
  }),
  op(
    'get',
    '/admin/audit-events/export',
    'Audit events as NDJSON (one event object per line), oldest first; same filters; `limit` caps the lines',
    [200, 400],
    undefined,
    { query: auditQuery, responseType: 'application/x-ndjson', response: auditEventResponse },
  ),

  op(
    'get',
    '/admin/outbox',
    'Email in the outbox (queued, sending, sent, failed), newest first, as a bare array; `after`: the last id of the previous page',
    [200, 400],
    undefined,
    { query: outboxQuery, response: z.array(outboxMessageResponse) },
  ),
];
