import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { linkFrom } from '../support/mailbox.js';
import {
  CALLBACK,
  PASSWORD,
  client,
  createClient,
  createUser,
  discover,
  loginAndGetTokens,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

type Event = {
  id: string;
  occurred_at: string;
  type: string;
  actor: string;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  data: Record<string, any>;
};

const rid = (label: string) => `${label}-${Math.random().toString(36).slice(2)}`;
const LOOPBACK = /^(127\.0\.0\.1|::ffff:127\.0\.0\.1|::1)$/;

for (const backend of backends()) {
  describe(`audit log (${backend})`, () => {
    let gh: RunningGatehouse;
    // No timer flush during the suite: reads through the admin API see this instance's queue,
    // and events survive a restart only if shutdown writes them.
    before(async () => {
      gh = await startGatehouse(backend, {
        env: { AUDIT_FLUSH_INTERVAL_MS: '600000', GATEHOUSE_REGISTRATION: 'true' },
      });
    });
    after(async () => {
      await gh?.destroy();
    });

    async function events(query: Record<string, string>): Promise<Event[]> {
      const res = await gh.admin('GET', `/admin/audit-events?${new URLSearchParams({ limit: '200', ...query })}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.items;
    }

    /** Starts a code flow as a browser would and returns the sign-in page. */
    async function openLogin(config: client.Configuration, ua: UserAgent) {
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const page = await ua.follow(url.toString(), gh.issuer);
      assert.ok(page.html?.includes('name="password"'), 'no sign-in form');
      return page.html!;
    }

    it('records a failed sign-in with its reason and a successful one, with subject, ip, user agent and request id', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const ua = new UserAgent();
      const html = await openLogin(await discover(gh, app), ua);
      const failId = rid('fail');
      const failed = await ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(html, 'csrf'), email: user.email, password: 'not the right password at all' },
        headers: { 'x-request-id': failId, 'user-agent': 'audit-test-agent/1.0' },
      });
      assert.equal(failed.res.status, 401);
      const okId = rid('ok');
      const ok = await ua.follow(new URL(formAction(failed.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(failed.html!, 'csrf'), email: user.email, password: PASSWORD },
        headers: { 'x-request-id': okId },
      });
      assert.ok(ok.html?.includes('name="decision"'), 'no consent page after sign-in');
      await ua.follow(new URL(formAction(ok.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(ok.html!, 'csrf'), decision: 'allow' },
      });

      const [failure] = await events({ type: 'login.failed', user: user.id });
      assert.ok(failure, 'no login.failed event');
      assert.equal(failure.data.reason, 'wrong_password');
      assert.equal(failure.subject, user.id);
      assert.equal(failure.actor, 'anonymous');
      assert.equal(failure.client_id, app.client_id);
      assert.equal(failure.request_id, failId);
      assert.equal(failure.user_agent, 'audit-test-agent/1.0');
      assert.match(failure.ip ?? '', LOOPBACK);
      assert.ok(!JSON.stringify(failure).includes('not the right password'), 'the attempted password was stored');

      const [success] = await events({ type: 'login.succeeded', user: user.id });
      assert.ok(success, 'no login.succeeded event');
      assert.equal(success.actor, `user:${user.id}`);
      assert.equal(success.request_id, okId);
      assert.deepEqual(success.data.amr, ['pwd']);
      assert.ok(Number(success.id) > Number(failure.id));

      const [consent] = await events({ type: 'consent.granted', user: user.id });
      assert.ok(consent, 'no consent.granted event');
      assert.equal(consent.client_id, app.client_id);
      assert.ok(consent.data.scope.includes('openid'));
    });

    it('records an unknown email as login.failed without a subject', async () => {
      const app = await createClient(gh);
      const ua = new UserAgent();
      const html = await openLogin(await discover(gh, app), ua);
      await ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(html, 'csrf'), email: 'nobody-here@example.test', password: PASSWORD },
      });
      const [failure] = await events({ type: 'login.failed', client: app.client_id });
      assert.equal(failure?.data.reason, 'unknown_email');
      assert.equal(failure?.subject, null);
      assert.ok(!JSON.stringify(failure).includes('nobody-here'), 'the attempted email was stored');
    });

    it('records a self-registration as user.registered', async () => {
      const app = await createClient(gh);
      const ua = new UserAgent();
      const login = await openLogin(await discover(gh, app), ua);
      const registerUrl = new URL(formAction(login), gh.issuer).toString().replace(/\/login\/password$/, '/register');
      const page = await ua.follow(registerUrl, gh.issuer);
      const email = `reg-${Math.random().toString(36).slice(2)}@example.test`;
      await ua.follow(new URL(formAction(page.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(page.html!, 'csrf'), name: 'New Person', email, password: PASSWORD },
      });
      // EMAIL_VERIFICATION=required: the account is made when the link in the email is confirmed.
      const confirm = await ua.follow(await linkFrom(gh, email, 'verify-email', '/verify-email'), gh.issuer);
      await ua.follow(new URL(formAction(confirm.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(confirm.html!, 'csrf'), token: hiddenField(confirm.html!, 'token') },
      });
      const [registered] = await events({ type: 'user.registered', client: app.client_id });
      assert.ok(registered?.subject, 'no user.registered event');
      assert.equal(registered.actor, `user:${registered.subject}`);
      assert.ok(!JSON.stringify(registered).includes(PASSWORD));
    });

    it('records client_credentials as token.issued with the grant type and no token value', async () => {
      const api = `https://api-${Math.random().toString(36).slice(2)}.example.test`;
      assert.equal(
        (await gh.admin('POST', '/admin/resources', { indicator: api, scopes: [{ name: 'read' }] })).status,
        201,
      );
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'read',
      });
      const worker = res.body as { client_id: string; client_secret: string };
      const tokens = await client.clientCredentialsGrant(await discover(gh, worker), { scope: 'read', resource: api });

      const issued = await events({ type: 'token.issued', client: worker.client_id });
      assert.equal(issued.length, 1);
      const [event] = issued;
      assert.equal(event!.data.grant_type, 'client_credentials');
      assert.equal(event!.actor, `client:${worker.client_id}`);
      assert.equal(event!.subject, null);
      assert.deepEqual(event!.data.issued, ['access_token']);
      // Nothing of the token (not even its signature part) nor of the client secret is in the row.
      const rows = await gh.instance.database.db()('audit_events').where({ client_id: worker.client_id });
      const text = JSON.stringify(rows);
      for (const secret of [tokens.access_token, tokens.access_token.split('.')[2]!, worker.client_secret]) {
        assert.ok(!text.includes(secret), 'a token or secret value is in the audit table');
      }
    });

    it('records refresh token reuse as refresh.reuse_detected and the family revocation', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      await client.refreshTokenGrant(config, tokens.refresh_token!);
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (err: any) => err.error === 'invalid_grant',
      );

      const [reuse] = await events({ type: 'refresh.reuse_detected', client: app.client_id });
      assert.ok(reuse, 'no refresh.reuse_detected event');
      assert.equal(reuse.subject, user.id);
      assert.equal(reuse.data.family_revoked, true);
      assert.ok(!JSON.stringify(reuse).includes(tokens.refresh_token!));
      const grantTypes = (await events({ type: 'token.issued', client: app.client_id }))
        .map((e) => e.data.grant_type)
        .sort();
      assert.deepEqual(grantTypes, ['authorization_code', 'refresh_token']);
      const revoked = await events({ type: 'token.revoked', client: app.client_id });
      assert.ok(
        revoked.some((e) => e.data.via === 'token' && e.subject === user.id),
        'the family revocation is not recorded',
      );
    });

    it('records a logout and a token revoked at the revocation endpoint', async () => {
      const bye = 'http://127.0.0.1:8976/bye';
      const user = await createUser(gh);
      const app = await createClient(gh, { post_logout_redirect_uris: [bye] });
      const config = await discover(gh, app);
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user });
      await client.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
      const [revoked] = (await events({ type: 'token.revoked', client: app.client_id })).filter(
        (e) => e.data.via === 'revocation',
      );
      assert.equal(revoked?.data.token_type, 'RefreshToken');
      assert.equal(revoked?.subject, user.id);

      const page = await ua.request(
        client
          .buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: bye })
          .toString(),
      );
      const html = await page.text();
      await ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
        form: { xsrf: hiddenField(html, 'xsrf'), logout: 'yes' },
      });
      const [logout] = await events({ type: 'logout', user: user.id });
      assert.ok(logout, 'no logout event');
      assert.equal(logout.actor, `user:${user.id}`);
      assert.equal(logout.client_id, app.client_id);
    });

    it('records admin client changes with before/after and never the client secret', async () => {
      const created = await gh.admin('POST', '/admin/clients', {
        client_name: 'Audited',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code'],
      });
      assert.equal(created.status, 201);
      const id = created.body.client_id as string;
      const secret = created.body.client_secret as string;
      assert.equal((await gh.admin('PATCH', `/admin/clients/${id}`, { client_name: 'Audited v2' })).status, 200);
      assert.equal((await gh.admin('DELETE', `/admin/clients/${id}`)).status, 204);

      const all = await events({ client: id });
      assert.deepEqual(
        all.map((e) => e.type),
        ['client.deleted', 'client.updated', 'client.created'],
        'newest first',
      );
      const [deleted, updated, createdEvent] = all;
      for (const e of all) assert.equal(e.actor, 'admin:key');
      assert.equal(createdEvent!.data.after.client_name, 'Audited');
      assert.equal(updated!.data.before.client_name, 'Audited');
      assert.equal(updated!.data.after.client_name, 'Audited v2');
      assert.deepEqual(updated!.data.changed, ['client_name']);
      assert.equal(deleted!.data.before.client_name, 'Audited v2');
      assert.ok(!JSON.stringify(all).includes(secret), 'the client secret is in the events');
      const members = (v: unknown): string[] =>
        v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [k, ...members(x)]) : [];
      assert.ok(!members(all).includes('client_secret'), 'a client_secret member is in the events');
    });

    it('records admin user changes without the password or its hash', async () => {
      const user = await createUser(gh);
      assert.equal(
        (
          await gh.admin('PATCH', `/admin/users/${user.id}`, {
            name: 'Renamed',
            password: 'another long password here',
          })
        ).status,
        200,
      );
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}`)).status, 204);
      const all = await events({ user: user.id });
      assert.deepEqual(
        all.map((e) => e.type),
        ['user.deleted', 'user.password_changed', 'user.updated', 'user.created'],
      );
      assert.equal(all[2]!.data.before.name, 'Test User');
      assert.equal(all[2]!.data.after.name, 'Renamed');
      const text = JSON.stringify(all);
      assert.ok(
        !/password_hash|passwordHash|argon2|another long password|correct horse/.test(text),
        'password material in the events',
      );
    });

    it('records a failed admin authentication without the presented credential', async () => {
      const requestId = rid('admin-fail');
      const res = await fetch(`${gh.adminUrl}/admin/clients`, {
        headers: { authorization: 'Bearer not-the-admin-key-4711', 'x-request-id': requestId },
      });
      assert.equal(res.status, 401);
      const failures = (await events({ type: 'admin.auth_failed' })).filter((e) => e.request_id === requestId);
      assert.equal(failures.length, 1);
      assert.match(failures[0]!.ip ?? '', LOOPBACK);
      assert.ok(!JSON.stringify(failures).includes('not-the-admin-key-4711'));
    });

    describe('listing and export', () => {
      let since: string;
      const indicators: string[] = [];
      before(async () => {
        since = new Date(Date.now() - 1000).toISOString();
        for (let i = 0; i < 5; i++) {
          const indicator = `https://paged-${i}-${Math.random().toString(36).slice(2)}.example.test`;
          indicators.push(indicator);
          assert.equal((await gh.admin('POST', '/admin/resources', { indicator, scopes: [] })).status, 201);
        }
      });

      it('filters by type and time and pages newest first with next_cursor', async () => {
        const seen: Event[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: Record<string, string> = {
            type: 'resource.created',
            since,
            limit: '2',
            ...(cursor ? { after: cursor } : {}),
          };
          const res = await gh.admin('GET', `/admin/audit-events?${new URLSearchParams(query)}`);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.ok(res.body.items.length <= 2);
          seen.push(...res.body.items);
          cursor = res.body.next_cursor;
          assert.ok(++pages < 20, 'pagination does not terminate');
        } while (cursor);
        const mine = seen.filter((e) => indicators.includes(e.data.indicator));
        assert.equal(mine.length, 5);
        assert.deepEqual(
          mine.map((e) => e.data.indicator),
          [...indicators].reverse(),
          'not newest first',
        );
        const ids = seen.map((e) => BigInt(e.id));
        assert.equal(new Set(ids).size, ids.length, 'a page repeated an event');
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! < ids[i - 1]!);
        for (const e of seen) assert.equal(e.type, 'resource.created');
        assert.equal(
          (await events({ type: 'resource.created', until: since })).filter((e) =>
            indicators.includes(e.data.indicator),
          ).length,
          0,
        );
      });

      it('exports the same filters as NDJSON, oldest first, one JSON event per line', async () => {
        const res = await fetch(
          `${gh.adminUrl}/admin/audit-events/export?${new URLSearchParams({ type: 'resource.created', since })}`,
          {
            headers: { authorization: `Bearer ${gh.adminKey}` },
          },
        );
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
        const text = await res.text();
        assert.ok(text.endsWith('\n'));
        const lines = text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Event);
        assert.deepEqual(
          lines.filter((e) => indicators.includes(e.data.indicator)).map((e) => e.data.indicator),
          indicators,
        );
        for (const e of lines) assert.equal(e.type, 'resource.created');
        const ids = lines.map((e) => BigInt(e.id));
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'not oldest first');
        // `after` resumes an export; `limit` caps it.
        const rest = await fetch(
          `${gh.adminUrl}/admin/audit-events/export?${new URLSearchParams({ type: 'resource.created', after: lines[0]!.id, limit: '2' })}`,
          {
            headers: { authorization: `Bearer ${gh.adminKey}` },
          },
        );
        const restLines = (await rest.text())
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Event);
        assert.deepEqual(
          restLines.map((e) => e.id),
          lines.slice(1, 3).map((e) => e.id),
        );
      });

      it('answers 400 for malformed filters', async () => {
        for (const query of [
          'type=login.maybe',
          'since=yesterday',
          'until=2026-13-45T00:00:00Z',
          'since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
          'after=abc',
          'after=-1',
          'limit=0',
          'limit=500',
          'user=a&user=b',
          `client=${'x'.repeat(300)}`,
        ]) {
          for (const path of ['/admin/audit-events', '/admin/audit-events/export']) {
            if (path.endsWith('export') && query === 'limit=500') continue; // export has no page cap
            const res = await gh.admin('GET', `${path}?${query}`);
            assert.equal(res.status, 400, `${path}?${query} → ${res.status}`);
            assert.equal(res.body.error, 'invalid_request');
          }
        }
      });
    });

    it('writes events queued right before a graceful stop', async () => {
      const indicator = `https://shutdown-${Math.random().toString(36).slice(2)}.example.test`;
      assert.equal((await gh.admin('POST', '/admin/resources', { indicator, scopes: [] })).status, 201);
      const fail = await fetch(`${gh.adminUrl}/admin/resources`, {
        headers: { authorization: 'Bearer wrong-before-restart' },
      });
      assert.equal(fail.status, 401);
      await gh.restart();
      const rows = await gh.instance.database
        .db()('audit_events')
        .where('type', 'resource.created')
        .whereRaw("data->>'indicator' = ?", [indicator]);
      assert.equal(rows.length, 1, 'an event queued before the stop was lost');
    });
  });
}
