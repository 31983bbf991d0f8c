import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { factorResponse, factorsResetResponse } from '../../src/http/admin/admin-schemas.js';
import { SqlCredentialRepository } from '../../src/storage/repositories/credentials-repository.js';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { createClient, createUser, discover } from '../support/relying-party.js';
import { appCode, linkTo, SignIn, setupKeyOf } from '../mfa/mfa-flow.js';

for (const backend of backends()) {
  describe(`admin API: a user's second factors (${backend})`, () => {
    let gh: RunningGatehouse;
    let credentials: SqlCredentialRepository;

    before(async () => {
      gh = await startGatehouse(backend);
      credentials = new SqlCredentialRepository(gh.instance.database);
    });
    after(async () => {
      await gh?.destroy();
    });

    /**
     * A user with a password, an authenticator app, a passkey and recovery codes, written where
     * the account page would write them (the stored credentials; the secrets are placeholders).
     */
    async function userWithFactors() {
      const user = await createUser(gh);
      const totp = await credentials.insert({
        id: randomUUID(),
        userId: user.id,
        type: 'totp',
        secretSealed: 'sealed',
      });
      const passkey = await credentials.insert({
        id: randomUUID(),
        userId: user.id,
        type: 'passkey',
        name: 'Work laptop',
        externalId: randomUUID(),
        publicData: { publicKey: 'pk' },
      });
      const codes = await credentials.replaceRecoveryCodes(
        { id: randomUUID(), userId: user.id, type: 'recovery_codes', publicData: { count: 2 } },
        ['hash-1', 'hash-2'],
      );
      return { user, totp, passkey, codes };
    }

    const removals = async (userId: string) =>
      (await gh.admin('GET', `/admin/audit-events?type=factor.removed&user=${userId}`)).body.items as any[];

    it('lists the second factors, never the password, in the documented shape', async () => {
      const { user, totp, passkey, codes } = await userWithFactors();
      const res = await gh.admin('GET', `/admin/users/${user.id}/factors`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      z.array(factorResponse).parse(res.body);
      const byType = Object.fromEntries(res.body.map((f: any) => [f.type, f]));
      assert.deepEqual(Object.keys(byType).sort(), ['passkey', 'recovery_codes', 'totp']);
      assert.equal(byType.totp.id, totp.id);
      assert.equal(byType.passkey.id, passkey.id);
      assert.equal(byType.passkey.name, 'Work laptop');
      assert.equal(byType.recovery_codes.id, codes.id);
      assert.equal(byType.totp.name, undefined);
      assert.equal(byType.totp.last_used_at, null);
      assert.ok(Date.parse(byType.totp.created_at) > Date.now() - 60_000);
      assert.doesNotMatch(JSON.stringify(res.body), /sealed|hash-1|"pk"/, 'no secret or key material');

      const none = await gh.admin('GET', `/admin/users/${(await createUser(gh)).id}/factors`);
      assert.deepEqual(none.body, []);
    });

    it('answers 404 for an unknown user', async () => {
      for (const [method, path] of [
        ['GET', '/factors'],
        ['DELETE', '/factors'],
        ['DELETE', `/factors/${randomUUID()}`],
      ] as const) {
        const res = await gh.admin(method, `/admin/users/${randomUUID()}${path}`);
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.body.error, 'not_found');
      }
    });

    it('removes one factor (204), audited as factor.removed by the admin; an unknown one is 404', async () => {
      const { user, totp, passkey } = await userWithFactors();
      const res = await gh.admin('DELETE', `/admin/users/${user.id}/factors/${totp.id}`);
      assert.equal(res.status, 204);
      const left = (await gh.admin('GET', `/admin/users/${user.id}/factors`)).body.map((f: any) => f.type);
      assert.deepEqual(left.sort(), ['passkey', 'recovery_codes']);

      const [event] = await removals(user.id);
      assert.equal(event.actor, 'admin:key');
      assert.equal(event.subject, user.id);
      assert.deepEqual(event.data, { factor: 'totp', credential_id: totp.id });

      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/factors/${totp.id}`)).status, 404);
      // Another user's factor is not found through this user.
      const other = await createUser(gh);
      assert.equal((await gh.admin('DELETE', `/admin/users/${other.id}/factors/${passkey.id}`)).status, 404);
      // The password is the account's, not a factor to remove here.
      const [password] = await credentials.listFor(user.id, 'password');
      assert.ok(password, 'the user has a password credential');
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/factors/${password.id}`)).status, 404);
      assert.equal((await removals(user.id)).length, 1, 'refusals are not removals');
    });

    it('drops the recovery codes with the last authenticator', async () => {
      const { user, totp, passkey } = await userWithFactors();
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/factors/${passkey.id}`)).status, 204);
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/factors/${totp.id}`)).status, 204);
      assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/factors`)).body, []);
      assert.equal(await credentials.remainingRecoveryCodes(user.id), 0);
    });

    it('resets all factors: 200 with the count, each removal audited, the password kept', async () => {
      const { user, totp, passkey, codes } = await userWithFactors();
      const res = await gh.admin('DELETE', `/admin/users/${user.id}/factors`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      factorsResetResponse.parse(res.body);
      assert.deepEqual(res.body, { removed: 3 });
      assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/factors`)).body, []);
      assert.equal((await credentials.listFor(user.id, 'password')).length, 1, 'the password stays');

      const events = await removals(user.id);
      assert.deepEqual(events.map((e) => e.data.credential_id).sort(), [totp.id, passkey.id, codes.id].sort());
      assert.ok(events.every((e) => e.actor === 'admin:key'));

      const again = await gh.admin('DELETE', `/admin/users/${user.id}/factors`);
      assert.deepEqual(again.body, { removed: 0 });
      assert.equal((await removals(user.id)).length, 3);
    });

    it('after a reset, the person signs in with the password alone again', async () => {
      const config = await discover(gh, await createClient(gh, { first_party: true }));
      const user = await createUser(gh);
      // The authenticator app, set up during a sign-in that asked for two factors.
      const setup = new SignIn(gh, config);
      const choice = await setup.submit(await setup.open({ acr_values: 'urn:gatehouse:acr:mfa' }), {
        email: user.email,
        password: user.password,
      });
      const enrol = await setup.get(linkTo(choice.html, 'Set up authenticator app'));
      const codes = await setup.submit(enrol, { code: await appCode(setupKeyOf(enrol.html)) });
      await setup.finish(await setup.submit(codes, {}));
      const before = new SignIn(gh, config);
      assert.match((await before.password(user)).html, /Authentication code/, 'the app is asked for');

      const reset = await gh.admin('DELETE', `/admin/users/${user.id}/factors`);
      assert.deepEqual(reset.body, { removed: 2 }, 'the app and the recovery codes');
      const after = new SignIn(gh, config);
      const claims = (await after.finish(await after.password(user))).claims()!;
      assert.equal(claims.acr, 'urn:gatehouse:acr:password');
    });
  });
}
