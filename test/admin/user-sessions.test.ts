import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, codeFlow, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';

const marker = () => `Zq${Math.random().toString(36).slice(2, 10)}`;

for (const backend of backends()) {
  describe(`admin user management: search, sessions, grants (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    async function signedIn() {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const login = await loginAndGetTokens(gh, config, { user });
      return { user, app, config, ...login };
    }

    describe('search', () => {
      it('finds users by a case-insensitive substring of email or name, with pagination', async () => {
        const tag = marker();
        const byName = [
          await createUser(gh, { name: `Ada ${tag} Lovelace` }),
          await createUser(gh, { name: `${tag.toUpperCase()}` }),
        ];
        const byEmail = await createUser(gh, { email: `${tag.toLowerCase()}.someone@example.test`, name: null });
        await createUser(gh, { name: 'Somebody Else' });

        const all = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(tag.toLowerCase())}`);
        assert.equal(all.status, 200, JSON.stringify(all.body));
        assert.deepEqual(all.body.items.map((u: any) => u.id).sort(), [...byName, byEmail].map((u) => u.id).sort());

        const emails = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(`${tag.toUpperCase()}.SOMEONE@`)}`);
        assert.deepEqual(
          emails.body.items.map((u: any) => u.id),
          [byEmail.id],
        );

        // Walk the matches one per page.
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: any = await gh.admin(
            'GET',
            `/admin/users?q=${tag}&limit=1${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
          );
          assert.equal(page.status, 200);
          assert.ok(page.body.items.length <= 1);
          seen.push(...page.body.items.map((u: any) => u.id));
          cursor = page.body.next_cursor;
        } while (cursor);
        assert.equal(seen.length, 3);

        // Wildcards are plain characters, not patterns.
        assert.deepEqual((await gh.admin('GET', '/admin/users?q=%25')).body.items, []);
        assert.deepEqual((await gh.admin('GET', `/admin/users?q=${tag}_nomatch`)).body.items, []);
        assert.equal((await gh.admin('GET', `/admin/users?q=${'x'.repeat(201)}`)).status, 400);
        assert.equal((await gh.admin('GET', '/admin/users?q=a&q=b')).status, 400);
      });
    });

    describe('sessions and grants', () => {
      it('lists the session and the grant after a login, without the session cookie value', async () => {
        const { user, app, ua } = await signedIn();
        const sessions = await gh.admin('GET', `/admin/users/${user.id}/sessions`);
        assert.equal(sessions.status, 200, JSON.stringify(sessions.body));
        assert.equal(sessions.body.items.length, 1);
        const [session] = sessions.body.items;
        assert.equal(typeof session.uid, 'string');
        assert.deepEqual(session.client_ids, [app.client_id]);
        assert.ok(Date.parse(session.created_at) <= Date.now());
        assert.ok(Date.parse(session.expires_at) > Date.now());
        const raw = JSON.stringify(sessions.body);
        for (const [name, value] of ua.cookies) {
          const bare = value.split('.')[0]!;
          if (bare.length >= 16) assert.ok(!raw.includes(bare), `cookie ${name} leaked into the session listing`);
        }

        const grants = await gh.admin('GET', `/admin/users/${user.id}/grants`);
        assert.equal(grants.status, 200, JSON.stringify(grants.body));
        assert.equal(grants.body.items.length, 1);
        const [grant] = grants.body.items;
        assert.equal(grant.client_id, app.client_id);
        assert.ok(grant.scopes.includes('openid'), JSON.stringify(grant));
        assert.ok(Array.isArray(grant.resources));
        assert.ok(Date.parse(grant.expires_at) > Date.now());
      });

      it('revoking a grant ends its refresh token and access token', async () => {
        const { user, config, tokens } = await signedIn();
        assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
        const [grant] = (await gh.admin('GET', `/admin/users/${user.id}/grants`)).body.items;
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/grants/${grant.id}`)).status, 204);
        await assert.rejects(
          client.refreshTokenGrant(config, tokens.refresh_token!),
          (err: any) => err.error === 'invalid_grant',
        );
        assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
        assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/grants`)).body.items, []);
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/grants/${grant.id}`)).status, 404);
      });

      it("a grant of another user is not found under this user's id", async () => {
        const a = await signedIn();
        const b = await createUser(gh);
        const [grant] = (await gh.admin('GET', `/admin/users/${a.user.id}/grants`)).body.items;
        assert.equal((await gh.admin('DELETE', `/admin/users/${b.id}/grants/${grant.id}`)).status, 404);
        const refreshed = await client.refreshTokenGrant(a.config, a.tokens.refresh_token!);
        assert.ok(refreshed.access_token);
      });

      /** The `session.revoked` audit events about a user, once the buffered log has written them. */
      async function revocationsOf(userId: string): Promise<any[]> {
        for (let i = 0; i < 50; i++) {
          const res = await gh.admin('GET', `/admin/audit-events?type=session.revoked&user=${userId}`);
          if (res.body.items.length) return res.body.items;
          await new Promise((r) => setTimeout(r, 100));
        }
        return [];
      }

      it('revoking all sessions makes prompt=none answer login_required', async () => {
        const { user, config, ua } = await signedIn();
        const silent = await codeFlow(gh, config, { user, ua, extra: { prompt: 'none' }, scope: 'openid' });
        assert.ok(silent.callbackUrl.searchParams.get('code'), 'the session signs in silently before revocation');
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/sessions`)).status, 204);
        assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body.items, []);
        const after = await codeFlow(gh, config, { user, ua, extra: { prompt: 'none' }, scope: 'openid' });
        assert.equal(after.callbackUrl.searchParams.get('error'), 'login_required');
        assert.equal(after.callbackUrl.searchParams.get('code'), null);
        const [event] = await revocationsOf(user.id);
        assert.equal(event.actor, 'admin:key', 'audited as the admin');
        assert.equal(event.data.count, 1);
      });

      it('revoking one session by uid leaves the other', async () => {
        const { user, config, ua } = await signedIn();
        const other = new UserAgent();
        await loginAndGetTokens(gh, config, { user, ua: other });
        const { items } = (await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body;
        assert.equal(items.length, 2);
        // Both were created in the same second: which browser holds which is found out below.
        const target = items[0].uid as string;
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/sessions/${target}`)).status, 204);
        const [event] = await revocationsOf(user.id);
        assert.deepEqual([event.actor, event.data.session_id], ['admin:key', target]);
        const left = (await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body.items;
        assert.deepEqual(
          left.map((s: any) => s.uid),
          [items[1].uid],
        );
        const results = await Promise.all(
          [ua, other].map(
            async (agent) =>
              (await codeFlow(gh, config, { user, ua: agent, extra: { prompt: 'none' }, scope: 'openid' })).callbackUrl
                .searchParams,
          ),
        );
        assert.equal(results.filter((p) => p.get('code')).length, 1, 'exactly one browser is still signed in');
        assert.equal(results.filter((p) => p.get('error') === 'login_required').length, 1);
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/sessions/${target}`)).status, 404);
      });

      it('unknown users, sessions and grants → 404', async () => {
        const ghost = '00000000-0000-0000-0000-000000000000';
        for (const [method, path] of [
          ['GET', `/admin/users/${ghost}/sessions`],
          ['DELETE', `/admin/users/${ghost}/sessions`],
          ['DELETE', `/admin/users/${ghost}/sessions/x`],
          ['GET', `/admin/users/${ghost}/grants`],
          ['DELETE', `/admin/users/${ghost}/grants/x`],
          ['POST', `/admin/users/${ghost}/disable`],
          ['POST', `/admin/users/${ghost}/enable`],
        ] as const) {
          const res = await gh.admin(method, path);
          assert.equal(res.status, 404, `${method} ${path} → ${res.status}`);
          assert.equal(res.body.error, 'not_found');
        }
        const user = await createUser(gh);
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/sessions/no-such-session`)).status, 404);
        assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/grants/no-such-grant`)).status, 404);
        assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body.items, []);
      });
    });

    describe('disable and enable', () => {
      it('POST /disable blocks sign-in and refresh; POST /enable allows sign-in again', async () => {
        const { user, config, tokens } = await signedIn();
        const disabled = await gh.admin('POST', `/admin/users/${user.id}/disable`);
        assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
        assert.equal(disabled.body.disabled, true);
        await assert.rejects(
          client.refreshTokenGrant(config, tokens.refresh_token!),
          (err: any) => err.error === 'invalid_grant',
        );
        await assert.rejects(
          codeFlow(gh, config, { user }),
          /did not reach the callback: 401/,
          'a disabled user signed in',
        );
        assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body.items, []);
        assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/grants`)).body.items, []);

        const enabled = await gh.admin('POST', `/admin/users/${user.id}/enable`);
        assert.equal(enabled.status, 200);
        assert.equal(enabled.body.disabled, false);
        const again = await loginAndGetTokens(gh, config, { user });
        assert.equal(again.tokens.claims()!.sub, user.id);
      });
    });
  });
}
