import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import samlify from 'samlify';
import { backends } from '../support/backends.js';
import { type RunningGatehouse, startGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  type client,
  createClient,
  createUser,
  discover,
  type IdTokenClaims,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';
import { type ResponseOptions, type SamlUser, TestSamlIdp } from './support/saml-idp.js';

/**
 * SAML 2.0 connections (Gatehouse as SP) against a samlify test IdP with real signed (and
 * encrypted) responses: SP metadata, the signed AuthnRequest, sign-in from a relying party through
 * "Continue with <name>" and the cross-site ACS POST, JIT / link prompt, replay (also across two
 * instances on PostgreSQL + Redis), IdP-initiated sign-in, `idp_metadata_url`, failure pages.
 */
for (const backend of backends()) {
  describe(`SAML connections (${backend})`, () => {
    let gh: RunningGatehouse;
    let idp: TestSamlIdp;
    let config: client.Configuration;
    let n = 0;
    const uniqueEmail = () => `saml-${Date.now()}-${n++}@example.test`;

    async function addConnection(body: Record<string, unknown>) {
      const res = await gh.admin('POST', '/admin/connections', { type: 'saml', ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; slug: string; sp_entity_id: string; acs_url: string; sp_metadata_url: string };
    }

    before(async () => {
      gh = await startGatehouse(backend);
      idp = await TestSamlIdp.start();
      config = await discover(gh, await createClient(gh));
      await addConnection({ name: 'Acme', slug: 'acme', idp_metadata_xml: idp.metadata, email_verified: true });
      await addConnection({
        name: 'Loose',
        slug: 'loose',
        idp_metadata_xml: idp.metadata,
        sign_authn_requests: false,
      });
      await addConnection({
        name: 'ByUrl',
        slug: 'byurl',
        idp_metadata_url: idp.metadataUrl,
        allow_idp_initiated: true,
        email_verified: true,
      });
    });
    after(async () => {
      await gh?.destroy();
      await idp?.close();
    });

    const spMetadata = async (slug: string) => (await fetch(`${gh.issuer}/saml/${slug}/metadata`)).text();
    const sp = async (slug: string) => ({
      entityId: `${gh.issuer}/saml/${slug}`,
      acsUrl: `${gh.issuer}/saml/${slug}/acs`,
      metadata: await spMetadata(slug),
    });

    async function failedReasons(): Promise<string[]> {
      const res = await gh.admin('GET', '/admin/audit-events?type=federation.failed');
      return res.body.items.map((e: { data?: { reason?: string } }) => e.data?.reason);
    }
    async function expectReason(reason: string, before: number) {
      for (let i = 0; i < 50; i++) {
        const reasons = await failedReasons();
        if (reasons.length > before && reasons.includes(reason)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`federation.failed with reason ${reason}: ${await failedReasons()}`);
    }

    /** Answers the consent page, if one is shown. */
    type Step = Awaited<ReturnType<UserAgent['follow']>>;
    async function consent(ua: UserAgent, step: Step): Promise<Step> {
      if (!step.html?.includes('name="decision"')) return step;
      return ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html, 'csrf'), decision: 'allow' },
      });
    }

    /** The browser's cross-site POST to the ACS (no cookies: SameSite=Lax ones are not sent), then its redirects. */
    async function postToAcs(ua: UserAgent, form: { SAMLResponse: string; RelayState?: string; acsUrl: string }) {
      const fields = { SAMLResponse: form.SAMLResponse, ...(form.RelayState ? { RelayState: form.RelayState } : {}) };
      const res = await fetch(form.acsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: idp.base },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      });
      assert.equal(res.status, 303);
      const location = new URL(res.headers.get('location')!, gh.issuer).toString();
      assert.match(location, /\/federation\/[a-z-]+\/callback\?resume=/);
      return consent(ua, await ua.follow(location, gh.issuer));
    }

    /** From the RP through "Continue with <name>" to the IdP: the AuthnRequest URL. */
    async function toIdp(name: string) {
      const start = await startAuthorization(gh, config, { scope: 'openid email' });
      const html = start.step.html!;
      const forms = html.split('<form').filter((f) => f.includes(`Continue with ${name}<`));
      assert.equal(forms.length, 1, `one "Continue with ${name}" button`);
      const step = await start.ua.follow(new URL(formAction(`<form${forms[0]}`), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(forms[0]!, 'csrf') },
      });
      assert.ok(step.url.startsWith(idp.ssoUrl), step.url);
      return { ...start, redirect: step.url };
    }

    async function signIn(name: string, slug: string, user: SamlUser, options: ResponseOptions = {}) {
      const flow = await toIdp(name);
      const form = await idp.respond(flow.redirect, user, { spMetadata: await spMetadata(slug), ...options });
      return { ...flow, form, back: await postToAcs(flow.ua, form) };
    }

    async function tokensOf(flow: Awaited<ReturnType<typeof signIn>>) {
      assert.ok(flow.back.url.startsWith(CALLBACK), `reached the app: ${flow.back.res.status} ${flow.back.url}`);
      return (await redeemCode(config, new URL(flow.back.url), flow)).claims() as IdTokenClaims;
    }

    async function userByEmail(email: string) {
      const res = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
      return res.body.items[0] as { id: string; email: string; email_verified: boolean; name?: string } | undefined;
    }

    function assertErrorPage(step: Step) {
      assert.equal(step.res.status, 400);
      assert.ok(step.html, 'an HTML page');
      assert.doesNotMatch(step.html!, /at .*\.(ts|js):\d+|Error:/);
      assert.match(step.html!, /<a [^>]*href="\/"/, 'a way back');
    }

    it('serves SP metadata naming the entity ID, the ACS and certificates; the admin GET shows the SP URLs', async () => {
      const res = await fetch(`${gh.issuer}/saml/acme/metadata`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /samlmetadata\+xml/);
      const parsed = samlify.ServiceProvider({ metadata: await res.text() });
      assert.equal(parsed.entityMeta.getEntityID(), `${gh.issuer}/saml/acme`);
      assert.equal(parsed.entityMeta.getAssertionConsumerService('post'), `${gh.issuer}/saml/acme/acs`);
      assert.ok(parsed.entityMeta.getX509Certificate('signing'));
      assert.ok(parsed.entityMeta.getX509Certificate('encryption'));
      assert.equal(parsed.entityMeta.isAuthnRequestSigned(), true);
      assert.equal(parsed.entityMeta.isWantAssertionsSigned(), true);
      const list = await gh.admin('GET', '/admin/connections');
      const acme = list.body.items.find((c: { slug: string }) => c.slug === 'acme');
      assert.equal(acme.sp_entity_id, `${gh.issuer}/saml/acme`);
      assert.equal(acme.acs_url, `${gh.issuer}/saml/acme/acs`);
      assert.equal(acme.sp_metadata_url, `${gh.issuer}/saml/acme/metadata`);
      assert.equal((await fetch(`${gh.issuer}/saml/nope/metadata`)).status, 404);
    });

    it('signs the AuthnRequest (verifies with the certificate in the SP metadata); unsigned when turned off', async () => {
      const { redirect } = await toIdp('Acme');
      const request = idp.readRequest(redirect);
      assert.equal(request.issuer, `${gh.issuer}/saml/acme`);
      assert.equal(request.acsUrl, `${gh.issuer}/saml/acme/acs`);
      assert.equal(request.destination, idp.ssoUrl);
      assert.equal(request.sigAlg, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      assert.ok(request.relayState);
      const cert = samlify
        .ServiceProvider({ metadata: await spMetadata('acme') })
        .entityMeta.getX509Certificate('signing') as string;
      const pem = `-----BEGIN CERTIFICATE-----\n${cert}\n-----END CERTIFICATE-----`;
      assert.ok(verify('sha256', Buffer.from(request.signedOctets), pem, Buffer.from(request.signature!, 'base64')));
      assert.ok(
        !verify('sha256', Buffer.from(`${request.signedOctets}x`), pem, Buffer.from(request.signature!, 'base64')),
      );
      const loose = idp.readRequest((await toIdp('Loose')).redirect);
      assert.equal(loose.signature, undefined);
      assert.equal(loose.sigAlg, undefined);
    });

    it('signs in from a relying party: JIT account (email verified as the connection trusts), amr fed, the link next time', async () => {
      const email = uniqueEmail();
      const user = {
        nameId: `id-${email}`,
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        email,
        name: 'Sam L',
      };
      const first = await tokensOf(await signIn('Acme', 'acme', user));
      assert.ok(first.amr?.includes('fed'), `amr ${first.amr}`);
      const created = await userByEmail(email);
      assert.equal(created?.id, first.sub);
      assert.equal(created?.email_verified, true);
      const again = await tokensOf(await signIn('Acme', 'acme', user));
      assert.equal(again.sub, first.sub);
      // A connection that does not trust its IdP's emails: not verified.
      const other = uniqueEmail();
      await tokensOf(await signIn('Loose', 'loose', { nameId: other, email: other }));
      assert.equal((await userByEmail(other))?.email_verified, false);
    });

    it('an encrypted assertion (with the SP encryption certificate) signs in', async () => {
      const email = uniqueEmail();
      const claims = await tokensOf(await signIn('Acme', 'acme', { nameId: email, email }, { encrypt: true }));
      assert.equal((await userByEmail(email))?.id, claims.sub);
    });

    it('idp_metadata_url: the IdP metadata is fetched from its URL', async () => {
      const email = uniqueEmail();
      const claims = await tokensOf(await signIn('ByUrl', 'byurl', { nameId: email, email }));
      assert.ok(claims.amr?.includes('fed'));
    });

    it('an existing local account with the email: asks to sign in to it to link', async () => {
      const local = await createUser(gh);
      const flow = await signIn('Acme', 'acme', { nameId: `nid-${local.email}`, email: local.email });
      assert.equal(flow.back.res.status, 200);
      assert.match(flow.back.html ?? '', /already exists\. Sign in to it to link your Acme account\./);
      let step = await flow.ua.follow(new URL(formAction(flow.back.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(flow.back.html!, 'csrf'), email: local.email, password: local.password },
      });
      step = await consent(flow.ua, step);
      assert.ok(step.url.startsWith(CALLBACK), step.url);
      const linked = await tokensOf(await signIn('Acme', 'acme', { nameId: `nid-${local.email}`, email: local.email }));
      assert.equal(linked.sub, local.id);
    });

    it('the same SAMLResponse posted twice is refused the second time', async () => {
      const email = uniqueEmail();
      const flow = await signIn('Acme', 'acme', { nameId: email, email });
      await tokensOf(flow);
      const before = (await failedReasons()).length;
      const replay = await postToAcs(new UserAgent(), flow.form);
      assertErrorPage(replay);
      await expectReason('in_response_to_unknown', before);
    });

    it('refuses what fails a check, with a page and a way back, audited with the reason', async () => {
      const cases: [ResponseOptions, string][] = [
        [{ unsigned: true }, 'saml_signature'],
        [{ signAssertion: false, signResponse: true }, 'saml_signature'],
        [{ audience: 'https://other.example/sp' }, 'saml_audience'],
        [{ notOnOrAfter: new Date(Date.now() - 600_000), notBefore: new Date(Date.now() - 900_000) }, 'saml_expired'],
        [{ destination: 'https://evil.example/acs' }, 'saml_destination'],
        [{ recipient: 'https://evil.example/acs' }, 'saml_recipient'],
        [{ issuer: 'https://evil.example/idp' }, 'saml_issuer'],
        [{ status: 'urn:oasis:names:tc:SAML:2.0:status:Requester' }, 'saml_status'],
        [{ transformResponse: (xml) => xml.replace('<samlp:Status>', '<samlp:Bogus/><samlp:Status>') }, 'saml_schema'],
      ];
      for (const [options, reason] of cases) {
        const email = uniqueEmail();
        const before = (await failedReasons()).length;
        const flow = await signIn('Acme', 'acme', { nameId: email, email }, options);
        assertErrorPage(flow.back);
        await expectReason(reason, before);
        assert.equal(await userByEmail(email), undefined, `no account (${reason})`);
      }
    });

    it('IdP-initiated: refused unless the connection allows it; when allowed, lands on /account signed in', async () => {
      const email = uniqueEmail();
      const before = (await failedReasons()).length;
      const refused = await postToAcs(
        new UserAgent(),
        await idp.unsolicited(await sp('acme'), { nameId: email, email }),
      );
      assertErrorPage(refused);
      await expectReason('unsolicited', before);

      const ua = new UserAgent();
      const form = await idp.unsolicited(await sp('byurl'), { nameId: email, email, name: 'Idp Init' });
      const landed = await postToAcs(ua, form);
      assert.equal(landed.res.status, 200, landed.url);
      assert.ok(new URL(landed.url).pathname.startsWith('/account'), landed.url);
      assert.match(landed.html ?? '', new RegExp(email.replace(/[.]/g, '\\.')));
      assert.ok(!ua.cookies.has('gatehouse.idp_initiated'), 'the hand-over cookie is spent');
      // The same unsolicited response again: refused (each assertion once).
      const before2 = (await failedReasons()).length;
      assertErrorPage(await postToAcs(new UserAgent(), form));
      await expectReason('assertion_replayed', before2);
    });
  });
}

describe('SAML assertion replay across two instances (postgres)', () => {
  let a: RunningGatehouse;
  let b: RunningGatehouse;
  let idp: TestSamlIdp;
  before(async () => {
    a = await startGatehouse('postgres');
    b = await startGatehouse('postgres', {
      storage: a.storage,
      env: { ISSUER: a.issuer, GATEHOUSE_ADMIN_KEY: a.adminKey },
    });
    idp = await TestSamlIdp.start();
    const res = await a.admin('POST', '/admin/connections', {
      type: 'saml',
      name: 'Shared',
      slug: 'shared',
      idp_metadata_xml: idp.metadata,
      allow_idp_initiated: true,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await b?.stop();
    await a?.destroy();
    await idp?.close();
  });

  it('the response accepted by A is refused by B', async () => {
    const target = { entityId: `${a.issuer}/saml/shared`, acsUrl: `${a.issuer}/saml/shared/acs` };
    const form = await idp.unsolicited(target, { nameId: 'shared@example.test', email: 'shared@example.test' });
    const post = async (gh: RunningGatehouse) => {
      const res = await fetch(`http://127.0.0.1:${gh.port}/saml/shared/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ SAMLResponse: form.SAMLResponse }).toString(),
        redirect: 'manual',
      });
      const next = await fetch(`http://127.0.0.1:${gh.port}${res.headers.get('location')}`, { redirect: 'manual' });
      return next;
    };
    const atA = await post(a);
    assert.equal(atA.status, 303);
    assert.equal(new URL(atA.headers.get('location')!, a.issuer).pathname, '/account');
    const atB = await post(b);
    assert.equal(atB.status, 400);
    let reasons: string[] = [];
    for (let i = 0; i < 50 && !reasons.includes('assertion_replayed'); i++) {
      if (i) await new Promise((r) => setTimeout(r, 20));
      const events = await a.admin('GET', '/admin/audit-events?type=federation.failed');
      reasons = events.body.items.map((e: { data?: { reason?: string } }) => e.data?.reason);
    }
    assert.ok(reasons.includes('assertion_replayed'), `replay audited: ${reasons}`);
  });
});
