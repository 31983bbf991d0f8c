import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, createUser, discover } from '../support/relying-party.js';
import { appCode, enrolTotp, linkTo, recoveryCodesOf, SignIn, setupKeyOf } from './mfa-flow.js';

const ACR_MFA = 'urn:gatehouse:acr:mfa';

for (const backend of backends()) {
  describe(`authenticator app and recovery codes at sign-in (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true' } });
      config = await discover(gh, await createClient(gh));
    });
    after(async () => {
      await gh?.destroy();
    });

    const auditReasons = async (userId: string) => {
      const res = await gh.admin('GET', `/admin/audit-events?type=login.failed&user=${encodeURIComponent(userId)}`);
      assert.equal(res.status, 200);
      return (res.body.items as Array<{ data: { reason: string; step: string } }>).map((e) => e.data.reason);
    };

    /** A new account with the app set up through sign-in; returns its secret, recovery codes and ID token claims. */
    async function enrolledUser() {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const { secret, codes } = await enrolTotp(signIn, user);
      const recovery = recoveryCodesOf(codes.html);
      const tokens = await signIn.finish(await signIn.submit(codes, {}));
      return { user, secret, recovery, claims: tokens.claims()! };
    }

    it('MFA required: sign-in sets up the app from a QR code, shows 10 recovery codes, then acr mfa', async () => {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const choice = await signIn.password(user);
      assert.equal(choice.res.status, 200);
      const href = linkTo(choice.html, 'Set up authenticator app');

      const enrol = await signIn.get(href);
      assert.equal(enrol.res.status, 200);
      assert.match(enrol.html, /<img src="data:image\/svg\+xml;base64,[^"]+" alt="QR code"/);
      assert.match(enrol.html, /<label for="code">Authentication code<\/label>/);
      assert.match(enrol.html, /<input id="code" name="code"/);
      assert.match(enrol.html, /<button type="submit">Turn on<\/button>/);
      const secret = setupKeyOf(enrol.html);
      assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
      assert.equal(setupKeyOf((await signIn.get(href)).html), secret, 'a reload shows the same key');

      const wrong = await signIn.submit(enrol, {
        code: (Number(await appCode(secret)) ^ 1).toString().padStart(6, '0'),
      });
      assert.equal(wrong.res.status, 401);
      assert.match(wrong.html, /role="alert"/);
      assert.equal(setupKeyOf(wrong.html), secret, 'the same setup, to try again');

      const codesPage = await signIn.submit(wrong, { code: await appCode(secret) });
      assert.equal(codesPage.res.status, 200);
      const recovery = recoveryCodesOf(codesPage.html);
      assert.equal(recovery.length, 10);
      assert.equal(new Set(recovery).size, 10);
      for (const code of recovery) assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);

      const tokens = await signIn.finish(await signIn.submit(codesPage, {}));
      const claims = tokens.claims()!;
      assert.equal(claims.sub, user.id);
      assert.equal(claims.acr, ACR_MFA);
      for (const v of ['pwd', 'otp', 'mfa']) assert.ok((claims.amr as string[]).includes(v), `amr ${claims.amr}`);

      const stored = await gh.instance.database.db()('credentials').where({ user_id: user.id }).orderBy('type');
      assert.deepEqual(
        stored.map((c: { type: string }) => c.type).filter((t: string) => t !== 'password'),
        ['recovery_codes', 'totp'],
      );
      const enrolled = await gh.admin('GET', `/admin/audit-events?type=factor.enrolled&user=${user.id}`);
      assert.deepEqual((enrolled.body.items as Array<{ data: { factor: string } }>).map((e) => e.data.factor).sort(), [
        'recovery_codes',
        'totp',
      ]);
    });

    it('the next sign-in asks for a code: a wrong one and the setup code are refused, a fresh one works', async () => {
      const user = await createUser(gh);
      const first = new SignIn(gh, config);
      const { secret, code: setupCode, codes } = await enrolTotp(first, user);
      await first.finish(await first.submit(codes, {}));

      const signIn = new SignIn(gh, config);
      const ask = await signIn.password(user);
      assert.equal(ask.res.status, 200);
      assert.match(ask.html, /<label for="code">Authentication code<\/label>/);
      assert.match(ask.html, /<button type="submit">Verify<\/button>/);
      assert.match(ask.html, />Use a recovery code<\/a>/);

      const wrong = await signIn.submit(ask, { code: '000000' === setupCode ? '111111' : '000000' });
      assert.equal(wrong.res.status, 401);
      assert.match(wrong.html, /role="alert"/);
      assert.match(wrong.html, /<label for="code">Authentication code<\/label>/, 'the form again');

      // The code that turned the app on (its step is still within the window): already used.
      const replayed = await signIn.submit(wrong, { code: setupCode });
      assert.equal(replayed.res.status, 401);
      assert.match(replayed.html, /already used/);
      assert.deepEqual((await auditReasons(user.id)).sort(), ['code_replayed', 'invalid_code']);

      // The app's next code (a phone clock a little ahead is within the window).
      const next = await appCode(secret, 1);
      const tokens = await signIn.finish(
        await signIn.submit(replayed, { code: ` ${next.slice(0, 3)} ${next.slice(3)} ` }),
      );
      const claims = tokens.claims()!;
      assert.equal(claims.acr, ACR_MFA);
      for (const v of ['pwd', 'otp', 'mfa']) assert.ok((claims.amr as string[]).includes(v), `amr ${claims.amr}`);

      // The same code again, in another sign-in: refused.
      const again = new SignIn(gh, config);
      const replay = await again.submit(await again.password(user), { code: next });
      assert.equal(replay.res.status, 401);
      assert.match(replay.html, /already used/);
    });

    it('a recovery code signs in once; the second use is refused', async () => {
      const { user, recovery } = await enrolledUser();
      const signIn = new SignIn(gh, config);
      const ask = await signIn.password(user);
      const form = await signIn.get(linkTo(ask.html, 'Use a recovery code'));
      assert.equal(form.res.status, 200);
      assert.match(form.html, /<label for="recovery-code">Recovery code<\/label>/);
      const tokens = await signIn.finish(await signIn.submit(form, { code: recovery[3]!.toUpperCase() }));
      assert.equal(tokens.claims()!.acr, ACR_MFA);
      assert.ok((tokens.claims()!.amr as string[]).includes('mfa'));

      const used = await gh.admin('GET', `/admin/audit-events?type=recovery_code.used&user=${user.id}`);
      assert.equal(used.body.items[0]?.data?.remaining, 9);

      const again = new SignIn(gh, config);
      const reuse = await again.submit(
        await again.get(linkTo((await again.password(user)).html, 'Use a recovery code')),
        { code: recovery[3]! },
      );
      assert.equal(reuse.res.status, 401);
      assert.match(reuse.html, /<label for="recovery-code">Recovery code<\/label>/, 'the recovery form again');
      assert.ok(!reuse.html.includes(recovery[3]!), 'the code is not echoed back');
    });

    it('the setup secret is sealed at rest: neither the credentials row nor pending setup holds it', async () => {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const choice = await signIn.password(user);
      const enrol = await signIn.get(linkTo(choice.html, 'Set up authenticator app'));
      const secret = setupKeyOf(enrol.html);
      const db = gh.instance.database.db();
      const pending = JSON.stringify(await db('one_time_values').select('*'));
      const redisValues = gh.instance.redis
        ? await Promise.all(
            (await gh.instance.redis.keys(`${gh.env.REDIS_KEY_PREFIX}once:*`)).map((k) => gh.instance.redis!.get(k)),
          )
        : [];
      assert.ok(pending.length > 2 || redisValues.length > 0, 'the pending setup is stored somewhere');
      assert.ok(!pending.includes(secret) && !redisValues.some((v) => v?.includes(secret)), 'pending setup sealed');

      await signIn.submit(enrol, { code: await appCode(secret) });
      const [row] = await db('credentials').where({ user_id: user.id, type: 'totp' });
      assert.ok(row?.secret_sealed, 'a TOTP credential with a sealed secret');
      assert.ok(!row.secret_sealed.includes(secret), 'the base32 secret is not in the row');
      assert.ok(!JSON.stringify(row).includes(secret));
    });
  });
}
