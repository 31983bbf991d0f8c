import { generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import type { SamlSpKeys } from '../domain/federation/saml.js';

const generateRsa = promisify(generateKeyPair);

/** sha256WithRSAEncryption (RFC 4055). */
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** id-at-commonName. */
const COMMON_NAME = '2.5.4.3';
const CERT_YEARS = 10;

const pem = (label: string, der: ArrayBuffer | Buffer) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der as ArrayBuffer)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

/**
 * A self-signed X.509 certificate (sha256WithRSA) for `publicKey`, valid for 10 years, with
 * `commonName` as subject and issuer CN (a SAML SP's entity ID). Only carried in metadata as the
 * key's container: SAML peers pin it, nobody checks a chain.
 */
export function selfSignedCertificate(
  publicKey: KeyObject,
  privateKey: KeyObject,
  commonName: string,
  now = new Date(),
): string {
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: COMMON_NAME,
        value: new AttributeValue({ utf8String: commonName.slice(0, 64) }),
      }),
    ]),
  ]);
  const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive INTEGER
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERT_YEARS);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: algorithm,
    issuer: name,
    validity: new Validity({ notBefore: new Date(now.getTime() - 60_000), notAfter }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return pem('CERTIFICATE', AsnConvert.serialize(cert));
}

/** An RSA-2048 key pair as PKCS#8 PEM with its self-signed certificate. */
export async function rsaKeyWithCertificate(commonName: string): Promise<{ key: string; cert: string }> {
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: selfSignedCertificate(publicKey, privateKey, commonName),
  };
}

/** A SAML SP's keys for one connection: one pair signs AuthnRequests, the other decrypts assertions. */
export async function generateSamlSpKeys(commonName: string): Promise<SamlSpKeys> {
  const [signing, encryption] = await Promise.all([
    rsaKeyWithCertificate(commonName),
    rsaKeyWithCertificate(commonName),
  ]);
  return {
    signingKey: signing.key,
    signingCert: signing.cert,
    encryptionKey: encryption.key,
    encryptionCert: encryption.cert,
  };
}
