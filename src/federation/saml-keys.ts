import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
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
  const serial = certificateSerial(randomBytes(16));
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
  return signed(tbs, privateKey);
}

/**
 * A certificate serial number from random bytes, as the DER content of a positive INTEGER in its
 * minimal form: the first byte is 0x40–0x7f, so it is neither negative (high bit) nor padded (a
 * leading 0x00 before a byte below 0x80 is illegal DER, which OpenSSL refuses to parse).
 */
export function certificateSerial(random: Uint8Array): Uint8Array {
  const serial = Uint8Array.from(random);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/** The certificate of `tbs`, signed with sha256WithRSA, as PEM. RSA PKCS#1 v1.5 signs deterministically. */
function signed(tbs: TBSCertificate, privateKey: KeyObject): string {
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: tbs.signature,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return pem('CERTIFICATE', AsnConvert.serialize(cert));
}

const checked = new Map<string, string>();

/**
 * `certPem` when OpenSSL can read it; otherwise the same certificate with its serial number in
 * minimal DER, re-signed with `keyPem` (the same bytes every time). Releases before the serial fix
 * stored about one SP certificate in 256 with a padded serial, which strict IdPs refuse in the SP
 * metadata; the key pair, subject and validity stay as they were.
 */
export function readableCertificate(certPem: string, keyPem: string): string {
  const known = checked.get(certPem);
  if (known !== undefined) return known;
  let result = certPem;
  try {
    new X509Certificate(certPem);
  } catch {
    const der = Buffer.from(certPem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
    const cert = AsnConvert.parse(der, Certificate);
    const tbs = cert.tbsCertificate;
    const privateKey = createPrivateKey(keyPem);
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    if (!Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)).equals(spki))
      throw new Error('the SP certificate does not carry the public key of its private key');
    let serial = new Uint8Array(tbs.serialNumber);
    while (serial.length > 1 && serial[0] === 0 && serial[1]! < 0x80) serial = serial.subarray(1);
    tbs.serialNumber = Uint8Array.from(serial).buffer;
    result = signed(tbs, privateKey);
    new X509Certificate(result);
  }
  if (checked.size >= 1000) checked.clear();
  checked.set(certPem, result);
  return result;
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
