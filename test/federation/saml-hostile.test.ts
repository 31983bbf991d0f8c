import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import samlify from 'samlify';
import { rsaKeyWithCertificate } from '../../src/federation/saml-keys.js';
import { type RunningGatehouse, startGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  type client,
  createClient,
  discover,
  type IdTokenClaims,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';
import { type ResponseOptions, type SamlUser, TestSamlIdp } from './support/saml-idp.js';

/**
 * Hostile SAML responses (issue 15): signature wrapping (XSW1–XSW8 of Somorovsky et al., "On
 * Breaking SAML", 2012) built with a DOM from responses the test IdP genuinely signed, comment
 * injection in the NameID, a KeyInfo certificate that is not the key, a Reference to another
 * element than the one used, smuggled assertions, DOCTYPE / entities, SHA-1, InResponseTo of
 * another connection, replay, clock skew, and the cheap pre-filter that runs before schema
 * validation. Each refusal must sign nobody in and be audited as `federation.failed` with its reason.
 */
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

type El = Element;
const elements = (el: El, ns: string, local: string): El[] =>
  Array.from(el.childNodes).filter(
    (n): n is El => n.nodeType === 1 && (n as El).localName === local && (n as El).namespaceURI === ns,
  );
const child = (el: El, ns: string, local: string): El => {
  const found = elements(el, ns, local)[0];
  assert.ok(found, `${el.localName} has a ${local}`);
  return found;
};
const parse = (b64: string) =>
  new DOMParser().parseFromString(Buffer.from(b64, 'base64').toString('utf8'), 'text/xml') as unknown as Document;
const encode = (doc: Document) => Buffer.from(new XMLSerializer().serializeToString(doc as never)).toString('base64');
const xmlOf = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const b64 = (xml: string) => Buffer.from(xml).toString('base64');
const setText = (el: El, text: string) => {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(text));
};

const ATTACKER = 'attacker@example.test';
const VICTIM = 'victim@example.test';

/** A copy of a (signed) assertion naming the victim, without its signature, with `id` (default a new one). */
function forge(assertion: El, id = `_evil${Math.random().toString(16).slice(2)}`): El {
  const evil = assertion.cloneNode(true) as El;
  for (const s of elements(evil, DS, 'Signature')) evil.removeChild(s);
  evil.setAttribute('ID', id);
  setText(evil.getElementsByTagNameNS(SAML, 'NameID')[0]!, VICTIM);
  for (const v of Array.from(evil.getElementsByTagNameNS(SAML, 'AttributeValue')))
    if (v.textContent === ATTACKER) setText(v, VICTIM);
  return evil;
}

/**
 * XSW4–XSW8's common first step: the genuine assertion's signature moved into a forged copy (the
 * signed one's ID, or another) that takes the genuine assertion's place; the caller puts the
 * genuine one somewhere else.
 */
function signatureOntoForgery(response: El, sameId: boolean): { signed: El; signature: El; evil: El } {
  const signed = child(response, SAML, 'Assertion');
  const signature = child(signed, DS, 'Signature');
  signed.removeChild(signature);
  const evil = forge(signed, sameId ? signed.getAttribute('ID')! : undefined);
  evil.insertBefore(signature, child(evil, SAML, 'Subject'));
  response.replaceChild(evil, signed);
  return { signed, signature, evil };
}

describe('SAML: hostile responses (pglite)', () => {
  let gh: RunningGatehouse;
  let idp: TestSamlIdp;
  let config: client.Configuration;
  let n = 0;
  const unique = (what = 'saml') => `${what}-${Date.now()}-${n++}@example.test`;

  before(async () => {
    gh = await startGatehouse('pglite');
    idp = await TestSamlIdp.start();
    config = await discover(gh, await createClient(gh));
    const add = async (body: Record<string, unknown>) => {
      const res = await gh.admin('POST', '/admin/connections', {
        type: 'saml',
        idp_metadata_xml: idp.metadata,
        email_verified: true,
        ...body,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    // SP-initiated only (the defaults).
    await add({ name: 'Acme', slug: 'acme' });
    await add({ name: 'Other', slug: 'other' });
    // The weakest settings: IdP-initiated allowed (no browser binding), the assertion must be signed.
    await add({ name: 'Open', slug: 'open', allow_idp_initiated: true });
    // IdP-initiated, and a Response signature is enough (want_assertions_signed off).
    await add({ name: 'Msg', slug: 'msg', allow_idp_initiated: true, want_assertions_signed: false });
    // The victim has an account linked to Open and Msg: a wrapped response accepted with the forged
    // values would sign in to it.
    for (const slug of ['open', 'msg']) {
      const landed = await post(slug, await idp.unsolicited(await sp(slug), { nameId: VICTIM, email: VICTIM }));
      assert.equal(landed.res.status, 200, `the victim signs in through ${slug}`);
    }
  });
  after(async () => {
    await gh?.destroy();
    await idp?.close();
  });

  const spMetadata = new Map<string, string>();
  async function sp(slug: string) {
    if (!spMetadata.has(slug)) spMetadata.set(slug, await (await fetch(`${gh.issuer}/saml/${slug}/metadata`)).text());
    return {
      entityId: `${gh.issuer}/saml/${slug}`,
      acsUrl: `${gh.issuer}/saml/${slug}/acs`,
      metadata: spMetadata.get(slug),
    };
  }

  type Step = Awaited<ReturnType<UserAgent['follow']>>;
  /** The browser's cross-site POST to the ACS (no cookies go with it), then the redirects it is sent on. */
  async function post(
    slug: string,
    form: { SAMLResponse: string; RelayState?: string },
    ua = new UserAgent(),
  ): Promise<Step> {
    const fields = { SAMLResponse: form.SAMLResponse, ...(form.RelayState ? { RelayState: form.RelayState } : {}) };
    const res = await fetch(`${gh.issuer}/saml/${slug}/acs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: idp.base },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    const step = await ua.follow(new URL(res.headers.get('location')!, gh.issuer).toString(), gh.issuer);
    if (!step.html?.includes('name="decision"')) return step;
    return ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(step.html, 'csrf'), decision: 'allow' },
    });
  }

  async function newestFailure(): Promise<{ id?: string; reason?: string }> {
    const res = await gh.admin('GET', '/admin/audit-events?type=federation.failed&limit=1');
    const e = res.body.items[0] as { id: string; data?: { reason?: string } } | undefined;
    return { id: e?.id, reason: e?.data?.reason };
  }

  /** Runs `attack`, which must be refused (400 page, a way back, nobody signed in), and returns the audited reason. */
  async function refused(attack: () => Promise<Step>): Promise<string> {
    const before = (await newestFailure()).id;
    const step = await attack();
    assert.equal(step.res.status, 400, `refused: ${step.res.status} ${step.url}`);
    assert.ok(!step.url.startsWith(CALLBACK) && !new URL(step.url).pathname.startsWith('/account'), step.url);
    assert.match(step.html ?? '', /<a [^>]*href="\/"/, 'a way back');
    for (let i = 0; i < 100; i++) {
      const newest = await newestFailure();
      if (newest.id !== before) return newest.reason ?? '(none)';
      await new Promise((r) => setTimeout(r, 10));
    }
    return assert.fail('no federation.failed audited');
  }

  /** An IdP-initiated response for the attacker, genuinely signed, as a DOM to tamper with. */
  async function genuine(slug: string, options: ResponseOptions = {}) {
    const doc = parse(
      await idp.buildResponse(
        await sp(slug),
        { nameId: ATTACKER, email: ATTACKER },
        { inResponseTo: null, ...options },
      ),
    );
    const response = doc.documentElement as unknown as El;
    return { doc, response };
  }
  const attack = (slug: string, doc: Document | string) => () =>
    post(slug, { SAMLResponse: typeof doc === 'string' ? b64(doc) : encode(doc) });

  /** From the relying party through "Continue with <name>" to the IdP: the AuthnRequest and the browser. */
  async function toIdp(name: string) {
    const start = await startAuthorization(gh, config, { scope: 'openid email' });
    const forms = start.step.html!.split('<form').filter((f) => f.includes(`Continue with ${name}<`));
    assert.equal(forms.length, 1);
    const step = await start.ua.follow(new URL(formAction(`<form${forms[0]}`), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(forms[0]!, 'csrf') },
    });
    assert.ok(step.url.startsWith(idp.ssoUrl), step.url);
    return { ...start, redirect: step.url, request: idp.readRequest(step.url) };
  }
  async function signedInSub(flow: Awaited<ReturnType<typeof toIdp>>, back: Step): Promise<string> {
    assert.ok(back.url.startsWith(CALLBACK), `reached the app: ${back.res.status} ${back.url}`);
    return ((await redeemCode(config, new URL(back.url), flow)).claims() as IdTokenClaims).sub;
  }
  async function userByEmail(email: string) {
    const res = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
    return res.body.items.find((u: { email: string }) => u.email === email) as { id: string } | undefined;
  }

  describe('signature wrapping (XSW) of a signed assertion', () => {
    it('XSW3: a forged assertion before the signed one (first in document order)', async () => {
      const { response } = await genuine('open');
      const signed = child(response, SAML, 'Assertion');
      response.insertBefore(forge(signed), signed);
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_assertion_count');
    });

    it('XSW3 with a duplicate ID: the forged assertion carries the signed one’s ID', async () => {
      const { response } = await genuine('open');
      const signed = child(response, SAML, 'Assertion');
      response.insertBefore(forge(signed, signed.getAttribute('ID')!), signed);
      // xs:ID values are unique in a schema-valid document.
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_schema');
    });

    it('XSW4: the signed assertion inside the forged one', async () => {
      const { response } = await genuine('open');
      const signed = child(response, SAML, 'Assertion');
      const evil = forge(signed);
      response.replaceChild(evil, signed);
      evil.appendChild(signed);
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_schema');
    });

    it('XSW4 (schema-valid): the signed assertion in the forged one’s Advice, the signature moved to the forged one', async () => {
      // The Reference still names the signed assertion (it moved intact); the values a careless SP
      // would read are the forged assertion's.
      const { response } = await genuine('open');
      const { signed, evil } = signatureOntoForgery(response, false);
      const advice = response.ownerDocument!.createElementNS(SAML, 'saml:Advice');
      advice.appendChild(signed);
      evil.insertBefore(advice, child(evil, SAML, 'AuthnStatement'));
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_assertion_count');
    });

    it('XSW5: the signature moved into a forged assertion (same ID, or another), the original appended last', async () => {
      for (const sameId of [true, false]) {
        const { response } = await genuine('open');
        const { signed } = signatureOntoForgery(response, sameId);
        response.appendChild(signed);
        // The same ID twice is not schema-valid (xs:ID); with another ID, a later check refuses it.
        assert.equal(
          await refused(attack('open', response.ownerDocument!)),
          sameId ? 'saml_schema' : 'saml_assertion_count',
        );
      }
    });

    it('XSW6: the original assertion inside the signature of the forged one', async () => {
      for (const sameId of [true, false]) {
        const { response } = await genuine('open');
        const { signed, signature } = signatureOntoForgery(response, sameId);
        signature.appendChild(signed);
        // The same ID twice is not schema-valid (xs:ID); with another ID, a later check refuses it.
        assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_schema');
      }
    });

    it('XSW7: the signed assertion moved into Extensions, a forged one in its place', async () => {
      const { response } = await genuine('open');
      const signed = child(response, SAML, 'Assertion');
      const evil = forge(signed);
      response.replaceChild(evil, signed);
      const extensions = response.ownerDocument!.createElementNS(SAMLP, 'samlp:Extensions');
      extensions.appendChild(signed);
      response.insertBefore(extensions, child(response, SAMLP, 'Status'));
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_assertion_count');
    });

    it('XSW8: the original (unsigned) assertion in a ds:Object of the signature moved to the forged one', async () => {
      for (const sameId of [true, false]) {
        const { response } = await genuine('open');
        const { signed, signature } = signatureOntoForgery(response, sameId);
        const object = response.ownerDocument!.createElementNS(DS, 'ds:Object');
        object.appendChild(signed);
        signature.appendChild(object);
        // The same ID twice is not schema-valid (xs:ID); with another ID, a later check refuses it.
        assert.equal(
          await refused(attack('open', response.ownerDocument!)),
          sameId ? 'saml_schema' : 'saml_assertion_count',
        );
      }
    });

    it('a forged assertion under a namespace prefix that is not ASCII is still counted', async () => {
      const { response } = await genuine('open');
      const signed = child(response, SAML, 'Assertion');
      response.appendChild(forge(signed, '_hidden'));
      const xml = new XMLSerializer()
        .serializeToString(response.ownerDocument as never)
        .replace(/<saml:Assertion([^>]*ID="_hidden")/, `<é:Assertion xmlns:é="${SAML}"$1`)
        .replace(/<\/saml:Assertion><\/samlp:Response>$/, '</é:Assertion></samlp:Response>');
      assert.match(xml, /<é:Assertion/);
      assert.equal(await refused(attack('open', xml)), 'saml_assertion_count');
    });

    it('the assertion signed, the Response not, a second unsigned assertion added (either connection)', async () => {
      for (const slug of ['open', 'msg']) {
        const { response } = await genuine(slug);
        response.appendChild(forge(child(response, SAML, 'Assertion')));
        assert.equal(await refused(attack(slug, response.ownerDocument!)), 'saml_assertion_count');
      }
    });

    it('an EncryptedAssertion with a plain forged Assertion beside it', async () => {
      const { response } = await genuine('open', { encrypt: true });
      assert.ok(child(response, SAML, 'EncryptedAssertion'));
      const plain = (await genuine('open')).response;
      response.appendChild(forge(child(plain, SAML, 'Assertion')));
      assert.equal(await refused(attack('open', response.ownerDocument!)), 'saml_assertion_count');
    });
  });

  describe('signature wrapping (XSW) of a signed Response (want_assertions_signed off)', () => {
    /** A Response the IdP signed (its assertion not): the evil Response is a copy naming the victim. */
    async function wrapped() {
      const { doc, response } = await genuine('msg', { signAssertion: false, signResponse: true });
      const signature = child(response, DS, 'Signature');
      response.removeChild(signature);
      const evil = response.cloneNode(true) as El;
      evil.setAttribute('ID', '_evilresponse');
      const forged = forge(child(evil, SAML, 'Assertion'));
      evil.replaceChild(forged, child(evil, SAML, 'Assertion'));
      doc.removeChild(response as never);
      doc.appendChild(evil as never);
      return { doc, original: response, evil, signature };
    }

    it('XSW1: the original Response inside the signature, moved to a forged Response', async () => {
      const { doc, original, evil, signature } = await wrapped();
      signature.appendChild(original);
      evil.insertBefore(signature, child(evil, SAMLP, 'Status'));
      assert.equal(await refused(attack('msg', doc)), 'saml_schema');
    });

    it('XSW2: the original Response beside the (detached) signature in a forged Response', async () => {
      const { doc, original, evil, signature } = await wrapped();
      evil.insertBefore(signature, child(evil, SAMLP, 'Status'));
      evil.insertBefore(original, signature);
      assert.equal(await refused(attack('msg', doc)), 'saml_schema');
    });

    it('XSW1 in a ds:Object (schema-valid): the Reference names the original, the forged assertion is the one in place', async () => {
      const { doc, original, evil, signature } = await wrapped();
      const object = doc.createElementNS(DS, 'ds:Object');
      object.appendChild(original);
      signature.appendChild(object);
      evil.insertBefore(signature, child(evil, SAMLP, 'Status'));
      assert.equal(await refused(attack('msg', doc)), 'saml_assertion_count');
    });

    it('the Reference names another element (a signed Response without assertion) than the assertion used', async () => {
      // The IdP signed a Response that carries no assertion (as an error response would); its
      // signature, moved to a Response with a forged assertion, still verifies: over the other element.
      const empty = await genuine('msg', { signAssertion: false, signResponse: true, transformAssertion: () => '' });
      const signature = child(empty.response, DS, 'Signature');
      empty.response.removeChild(signature);
      const { doc, response } = await genuine('msg', { unsigned: true });
      const forged = forge(child(response, SAML, 'Assertion'));
      response.replaceChild(forged, child(response, SAML, 'Assertion'));
      const object = doc.createElementNS(DS, 'ds:Object');
      object.appendChild(doc.importNode(empty.response as never, true));
      signature.appendChild(object);
      response.insertBefore(doc.importNode(signature as never, true), child(response, SAMLP, 'Status'));
      assert.equal(await refused(attack('msg', doc)), 'saml_signature');
    });
  });

  describe('keys, algorithms and parsing', () => {
    it('signed by a key not in the IdP metadata: with the metadata certificate in KeyInfo, or its own', async () => {
      const other = await rsaKeyWithCertificate('https://evil.example/idp');
      const user = { nameId: VICTIM, email: VICTIM };
      for (const signingCert of [idp.cert, other.cert]) {
        const SAMLResponse = await idp.buildResponse(await sp('open'), user, {
          inResponseTo: null,
          signingKey: other.key,
          signingCert,
        });
        assert.equal(await refused(() => post('open', { SAMLResponse })), 'saml_signature');
      }
    });

    it('comment injection in the NameID: the signed (canonical) value is used, not a truncated one', async () => {
      // The attacker owns victim@example.test.attacker.test at the IdP; the comment would make a
      // careless reader see victim@example.test, whose account exists.
      const own = `${VICTIM}.attacker.test`;
      const signed = await idp.buildResponse(await sp('open'), { nameId: own, email: own }, { inResponseTo: null });
      const xml = xmlOf(signed).replaceAll(`>${own}<`, `>${VICTIM}<!---->.attacker.test<`);
      assert.equal(xml.split('<!---->').length, 3, 'a comment in the NameID and in the email');
      const ua = new UserAgent();
      const landed = await post('open', { SAMLResponse: b64(xml) }, ua);
      assert.equal(landed.res.status, 200, landed.url);
      assert.ok(new URL(landed.url).pathname.startsWith('/account'));
      const account = await userByEmail(own);
      assert.ok(account, 'signed in as the whole, signed value');
      assert.notEqual(account.id, (await userByEmail(VICTIM))?.id);
      assert.match(landed.html ?? '', /victim@example\.test\.attacker\.test/);
    });

    it('weak algorithms are refused: an rsa-sha1 signature, a sha1 digest, RSA PKCS#1 v1.5 key transport', async () => {
      const unsigned = xmlOf(
        await idp.buildResponse(
          await sp('open'),
          { nameId: ATTACKER, email: ATTACKER },
          { inResponseTo: null, unsigned: true },
        ),
      );
      const sha1 = samlify.SamlLib.constructSAMLSignature({
        rawSamlMessage: unsigned,
        referenceTagXPath: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']",
        privateKey: idp.key,
        signingCert: samlify.Utility.normalizeCerString(idp.cert),
        signatureAlgorithm: RSA_SHA1,
        isBase64Output: false,
        signatureConfig: {
          prefix: 'ds',
          location: {
            reference: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']",
            action: 'after',
          },
        },
      } as never) as string;
      assert.match(sha1, /xmldsig#rsa-sha1/);
      assert.equal(await refused(attack('open', sha1)), 'saml_weak_algorithm');
      const { response } = await genuine('open');
      const digest = new XMLSerializer()
        .serializeToString(response.ownerDocument as never)
        .replace('http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2000/09/xmldsig#sha1');
      assert.equal(await refused(attack('open', digest)), 'saml_weak_algorithm');
      // PKCS#1 v1.5 key transport of an encrypted assertion (a decryption oracle), refused before decrypting.
      const encrypted = (await genuine('open', { encrypt: true })).response;
      const v15 = new XMLSerializer()
        .serializeToString(encrypted.ownerDocument as never)
        .replace(/xmlenc#rsa-oaep-mgf1p/, 'xmlenc#rsa-1_5');
      assert.match(v15, /xmlenc#rsa-1_5/);
      assert.equal(await refused(attack('open', v15)), 'saml_weak_algorithm');
    });

    it('a DOCTYPE is refused before parsing: external entity (XXE) and billion laughs, quickly', async () => {
      const signed = xmlOf(
        await idp.buildResponse(await sp('open'), { nameId: ATTACKER, email: ATTACKER }, { inResponseTo: null }),
      );
      const xxe = `<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${signed.replace(`>${ATTACKER}<`, '>&xxe;<')}`;
      const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
      const laughs = `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY l0 "lol">${lol}]>${signed.replace(`>${ATTACKER}<`, '>&l9;<')}`;
      for (const xml of [xxe, laughs]) {
        const t0 = performance.now();
        assert.equal(await refused(attack('open', xml)), 'saml_malformed');
        assert.ok(performance.now() - t0 < 2000, `refused in ${Math.round(performance.now() - t0)} ms`);
      }
    });
  });

  describe('requests, replay and time', () => {
    it('cheap pre-filter: garbage is refused on its InResponseTo before any schema validation', async () => {
      // Not schema-valid: were it validated, the reason would be saml_schema.
      const garbage = (irt: string) =>
        b64(`<samlp:Response xmlns:samlp="${SAMLP}" ID="_g" Version="2.0"${irt}><bogus/></samlp:Response>`);
      assert.equal(await refused(() => post('acme', { SAMLResponse: garbage('') })), 'unsolicited');
      assert.equal(
        await refused(() => post('acme', { SAMLResponse: garbage(' InResponseTo="_nobody"') })),
        'in_response_to_unknown',
      );
      // A pending request's ID, from another browser (no binding cookie), or with another RelayState.
      const flow = await toIdp('Acme');
      const irt = ` InResponseTo="${flow.request.id}"`;
      assert.equal(await refused(() => post('acme', { SAMLResponse: garbage(irt) })), 'browser_mismatch');
      assert.equal(
        await refused(() => post('acme', { SAMLResponse: garbage(irt), RelayState: 'other' }, flow.ua)),
        'relay_state_mismatch',
      );
      assert.equal(await refused(() => post('acme', { SAMLResponse: b64('<html/>') })), 'saml_malformed');
      assert.equal(await refused(() => post('acme', { SAMLResponse: '!!not base64!!' })), 'saml_malformed');
      // Then the real response to that request is still accepted (the pre-filter only peeked).
      const form = await idp.respond(flow.redirect, { nameId: unique(), email: unique() });
      assert.ok(await signedInSub(flow, await post('acme', form, flow.ua)));
    });

    it('unsolicited while allow_idp_initiated is off: refused even when genuinely signed', async () => {
      const SAMLResponse = await idp.buildResponse(
        await sp('acme'),
        { nameId: VICTIM, email: VICTIM },
        { inResponseTo: null },
      );
      assert.equal(await refused(() => post('acme', { SAMLResponse })), 'unsolicited');
    });

    it('a response to connection A’s request posted to connection B’s ACS is refused; A’s request stays usable', async () => {
      const flow = await toIdp('Acme');
      const email = unique();
      const SAMLResponse = await idp.buildResponse(
        await sp('other'),
        { nameId: email, email },
        { inResponseTo: flow.request.id },
      );
      assert.equal(
        await refused(() => post('other', { SAMLResponse, RelayState: flow.request.relayState }, flow.ua)),
        'in_response_to_unknown',
      );
      assert.equal(await userByEmail(email), undefined);
      const form = await idp.respond(flow.redirect, { nameId: email, email });
      assert.equal(await signedInSub(flow, await post('acme', form, flow.ua)), (await userByEmail(email))?.id);
    });

    it('replay: the same response again in the same browser, or its assertion ID in a response to a new request', async () => {
      const email = unique();
      const user: SamlUser = { nameId: email, email };
      const assertionId = `_once${Date.now()}`;
      const first = await toIdp('Acme');
      const form = await idp.respond(first.redirect, user, { assertionId });
      const sub = await signedInSub(first, await post('acme', form, first.ua));
      assert.equal(await refused(() => post('acme', form, first.ua)), 'in_response_to_unknown');
      const second = await toIdp('Acme');
      const again = await idp.respond(second.redirect, user, { assertionId });
      assert.equal(await refused(() => post('acme', again, second.ua)), 'assertion_replayed');
      assert.ok(sub);
    });

    it('times: more than 120 s expired or not yet valid is refused; within 100 s of skew accepted', async () => {
      const now = Date.now();
      const respond = (options: ResponseOptions, email = unique()) =>
        idp.buildResponse(target, { nameId: email, email }, { inResponseTo: null, ...options });
      const target = await sp('open');
      const expired = await respond({ notBefore: new Date(now - 600_000), notOnOrAfter: new Date(now - 125_000) });
      assert.equal(await refused(() => post('open', { SAMLResponse: expired })), 'saml_expired');
      // Checked a few hundred ms after it was built: still more than 120 s ahead.
      const early = await respond({ notBefore: new Date(now + 140_000), notOnOrAfter: new Date(now + 600_000) });
      assert.equal(await refused(() => post('open', { SAMLResponse: early })), 'saml_not_yet_valid');
      for (const options of [
        { notBefore: new Date(now + 100_000), notOnOrAfter: new Date(now + 600_000) },
        { notBefore: new Date(now - 600_000), notOnOrAfter: new Date(now - 100_000) },
      ]) {
        const email = unique();
        const landed = await post('open', { SAMLResponse: await respond(options, email) });
        assert.equal(landed.res.status, 200, `accepted ${JSON.stringify(options)}: ${landed.url}`);
        assert.ok(await userByEmail(email));
      }
    });
  });

  it('no attack created or signed in to an account for the victim’s email but the victim’s own', async () => {
    const res = await gh.admin('GET', `/admin/users?q=${encodeURIComponent('victim@')}`);
    const emails = res.body.items.map((u: { email: string }) => u.email).sort();
    assert.deepEqual(emails, [VICTIM, `${VICTIM}.attacker.test`]);
  });
});
