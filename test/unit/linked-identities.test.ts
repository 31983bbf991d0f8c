import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainEvents } from '../../src/domain/events/domain-events.js';
import type { StoredConnection } from '../../src/domain/federation/connection.js';
import type { FederatedIdentity } from '../../src/domain/federation/federated-identity.js';
import { LinkedIdentities, UnlinkRefused } from '../../src/domain/federation/linked-identities.js';

const USER = 'u1';

function connection(id: string, extra: Partial<StoredConnection> = {}): StoredConnection {
  return {
    id,
    type: 'oidc',
    slug: id,
    name: `Conn ${id}`,
    enabled: true,
    domains: [],
    enforceSso: false,
    jit: true,
    linkExisting: 'prompt',
    trustedMfa: false,
    settings: { issuer: 'https://idp.test', client_id: 'c', scopes: ['openid'] },
    secretSealed: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...extra,
  } as StoredConnection;
}

/** The service over in-memory stores: `ways` says which other ways in the account has. */
function service(
  options: {
    connections?: StoredConnection[];
    identities?: string[];
    password?: boolean;
    passkey?: boolean;
    emailSignIn?: boolean;
  } = {},
) {
  const connections = options.connections ?? [connection('a'), connection('b')];
  let identities: FederatedIdentity[] = (options.identities ?? ['a']).map((c, n) => ({
    id: `i${n}`,
    connectionId: c,
    userId: USER,
    subject: `s${n}`,
    email: null,
    linkedAt: new Date(n * 1000),
    lastUsedAt: null,
  }));
  const events = new DomainEvents();
  const emitted: unknown[] = [];
  events.subscribe((e) => emitted.push(e));
  const linked = new LinkedIdentities({
    identities: {
      find: async () => undefined,
      insert: async () => {
        throw new Error('not here');
      },
      listForUser: async (userId) => identities.filter((i) => i.userId === userId),
      touch: async () => undefined,
      delete: async (userId, id) => {
        const before = identities.length;
        identities = identities.filter((i) => !(i.userId === userId && i.id === id));
        return identities.length < before;
      },
    },
    connections: { list: async () => connections },
    users: { get: async (id) => ({ id, email: 'Person@Corp.Example' }), hasPassword: async () => !!options.password },
    factors: { enrolled: async () => ({ totp: false, passkey: !!options.passkey, recoveryCodes: false }) },
    emailSignIn: !!options.emailSignIn,
    events,
  });
  return { linked, emitted, left: () => identities.length };
}

const verdictOf = async (s: ReturnType<typeof service>) => (await s.linked.listWithVerdicts(USER))[0]!.unlink;

describe('LinkedIdentities: unlinking keeps another way in', () => {
  it('refuses the only way in with "Set a password first"', async () => {
    const s = service();
    assert.deepEqual(await verdictOf(s), {
      allowed: false,
      reason: 'set_password_first',
      message: 'Set a password first: this is your only way to sign in.',
    });
    await assert.rejects(s.linked.unlink(USER, 'i0', 'user', {}), UnlinkRefused);
    assert.equal(s.left(), 1);
    assert.deepEqual(s.emitted, []);
  });

  it('allows it with a password, a passkey, email sign-in, or another enabled connection', async () => {
    assert.equal((await verdictOf(service({ password: true }))).allowed, true);
    assert.equal((await verdictOf(service({ passkey: true }))).allowed, true);
    assert.equal((await verdictOf(service({ emailSignIn: true }))).allowed, true);
    assert.equal((await verdictOf(service({ identities: ['a', 'b'] }))).allowed, true);
  });

  it('does not count a linked identity of a disabled connection', async () => {
    const s = service({ connections: [connection('a'), connection('b', { enabled: false })], identities: ['a', 'b'] });
    const [first, second] = await s.linked.listWithVerdicts(USER);
    assert.equal(first!.unlink.allowed, false, 'the other one cannot be used to sign in');
    assert.equal(second!.unlink.allowed, true);
  });

  it('does not count a password or email sign-in when a connection enforces SSO for the email domain', async () => {
    const enforcing = connection('a', { enforceSso: true, domains: ['corp.example'] });
    const s = service({ connections: [enforcing], password: true, emailSignIn: true });
    const v = await verdictOf(s);
    assert.equal(v.allowed, false);
    assert.equal(v.allowed === false && v.reason, 'sso_enforced');
    assert.equal((await verdictOf(service({ connections: [enforcing], passkey: true }))).allowed, true);
  });

  it('unlinks with an event naming who did it; an admin may force the last one; unknown ids are not found', async () => {
    const s = service({ password: true });
    const gone = await s.linked.unlink(USER, 'i0', 'user', {});
    assert.equal(gone.connectionName, 'Conn a');
    assert.deepEqual(s.emitted, [
      { type: 'identity.unlinked', accountId: USER, connectionId: 'a', identityId: 'i0', by: 'user' },
    ]);
    await assert.rejects(s.linked.unlink(USER, 'i0', 'user', {}), { code: 'not_found' });

    const admin = service();
    await admin.linked.unlink(USER, 'i0', 'admin:key', {}, { force: true });
    assert.equal(admin.left(), 0);
    await assert.rejects(admin.linked.unlink('someone-else', 'i0', 'admin:key', {}, { force: true }), {
      code: 'not_found',
    });
  });
});
