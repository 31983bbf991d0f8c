import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { SamlConnection } from '../../src/domain/federation/saml.js';
import {
  certificateSerial,
  generateSamlSpKeys,
  readableCertificate,
  rsaKeyWithCertificate,
} from '../../src/federation/saml-keys.js';
import { SamlifyServiceProvider } from '../../src/federation/saml-service-provider.js';

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
const pemOf = (der: ArrayBuffer) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;

/**
 * The certificate an earlier release produced about once in 256 times: its serial number has a
 * leading 0x00 before a byte below 0x80 (illegal DER padding), correctly signed with its key.
 */
function withPaddedSerial(certPem: string, keyPem: string): string {
  const cert = AsnConvert.parse(derOf(certPem), Certificate);
  const tbs = cert.tbsCertificate;
  tbs.serialNumber = Uint8Array.from([0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]).buffer;
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), createPrivateKey(keyPem));
  cert.signatureValue = new Uint8Array(signature).buffer;
  return pemOf(AsnConvert.serialize(cert));
}

describe('SAML SP certificates', () => {
  it('serial numbers are positive and minimal DER whatever the random first byte', () => {
    for (const first of [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff]) {
      const random = Uint8Array.from([first, 0x00, 0x05, 0xff]);
      const serial = certificateSerial(random);
      assert.ok(serial[0]! >= 0x40 && serial[0]! <= 0x7f, `first byte ${first} → ${serial[0]}`);
      assert.deepEqual([...serial.subarray(1)], [0x00, 0x05, 0xff], 'the other bytes are kept');
      assert.equal(random[0], first, 'the random bytes are not changed in place');
    }
  });

  it('a fresh certificate is readable by OpenSSL and carries its key, subject and a 10-year validity', async () => {
    const { key, cert } = await rsaKeyWithCertificate('https://idp.example.test/saml/acme');
    const x509 = new X509Certificate(cert);
    assert.equal(x509.subject, 'CN=https://idp.example.test/saml/acme');
    assert.ok(x509.verify(createPublicKey(createPrivateKey(key))), 'self-signed with its own key');
    assert.ok(x509.publicKey.equals(createPublicKey(createPrivateKey(key))));
    const years = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `${years} years`);
    assert.equal(readableCertificate(cert, key), cert, 'a readable certificate is used as it is');
  });

  it('a stored certificate with a padded serial is re-issued for the same key, subject and validity, the same each time', async () => {
    const { key, cert } = await rsaKeyWithCertificate('https://idp.example.test/saml/old');
    const broken = withPaddedSerial(cert, key);
    assert.throws(() => new X509Certificate(broken), /padding/, 'OpenSSL refuses the padded serial');

    const repaired = readableCertificate(broken, key);
    const x509 = new X509Certificate(repaired);
    const original = new X509Certificate(cert);
    assert.equal(x509.serialNumber, '123456789ABCDEF0', 'the serial without its padding');
    assert.equal(x509.subject, original.subject);
    assert.equal(x509.validFrom, original.validFrom);
    assert.equal(x509.validTo, original.validTo);
    assert.ok(x509.publicKey.equals(original.publicKey));
    assert.ok(x509.verify(x509.publicKey), 'signed again with its key');
    // PKCS#1 v1.5 signing is deterministic: another instance, or a restart, publishes the same bytes.
    const again = withPaddedSerial(cert, key);
    assert.equal(again, broken);
    assert.equal(readableCertificate(`${broken}\n`, key), repaired);
  });

  it('refuses to re-issue a certificate for a key that is not its own', async () => {
    const [a, b] = await Promise.all([rsaKeyWithCertificate('a'), rsaKeyWithCertificate('b')]);
    assert.throws(() => readableCertificate(withPaddedSerial(a.cert, a.key), b.key), /public key/);
  });

  it('the SP metadata publishes readable certificates, also for keys stored with a padded serial', async () => {
    const keys = await generateSamlSpKeys('https://idp.example.test/saml/legacy');
    const stored = {
      ...keys,
      signingCert: withPaddedSerial(keys.signingCert, keys.signingKey),
      encryptionCert: withPaddedSerial(keys.encryptionCert, keys.encryptionKey),
    };
    const connection = {
      id: '00000000-0000-4000-8000-000000000001',
      slug: 'legacy',
      name: 'Legacy IdP',
      type: 'saml',
      enabled: true,
      domains: [],
      enforceSso: false,
      jit: true,
      linkExisting: 'never',
      trustedMfa: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      settings: {
        email_verified: false,
        sign_authn_requests: true,
        want_assertions_signed: true,
        allow_idp_initiated: false,
      },
    } as unknown as SamlConnection;
    const base = 'https://idp.example.test/saml/legacy';
    const xml = await new SamlifyServiceProvider().metadata(connection, stored, {
      entityId: base,
      acsUrl: `${base}/acs`,
      metadataUrl: `${base}/metadata`,
    });
    const published = [...xml.matchAll(/<(?:ds:)?X509Certificate>([^<]+)</g)].map((m) => m[1]!.replace(/\s+/g, ''));
    assert.equal(published.length, 2, xml);
    for (const body of published) {
      const x509 = new X509Certificate(Buffer.from(body, 'base64'));
      assert.equal(x509.subject, 'CN=https://idp.example.test/saml/legacy');
    }
    const publicKeys = published.map((body) => new X509Certificate(Buffer.from(body, 'base64')).publicKey);
    assert.ok(publicKeys[0]!.equals(createPublicKey(createPrivateKey(keys.signingKey))));
    assert.ok(publicKeys[1]!.equals(createPublicKey(createPrivateKey(keys.encryptionKey))));
  });
});
