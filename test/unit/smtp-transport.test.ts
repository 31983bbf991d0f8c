import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SMTP_TIMEOUTS, senderDomain, smtpTransportOptions } from '../../src/mail/smtp-transport.js';

const mail = (smtpUrl: string, extra: { smtpUser?: string; smtpPassword?: string } = {}) => ({
  smtpUrl,
  smtpUser: extra.smtpUser,
  smtpPassword: extra.smtpPassword,
  from: 'Gatehouse <no-reply@example.com>',
});

describe('SMTP transport options (SMTP_URL, SMTP_USER, SMTP_PASSWORD)', () => {
  it('smtp:// is STARTTLS-capable plain SMTP on 587 by default; smtps:// is TLS on 465', () => {
    const plain = smtpTransportOptions(mail('smtp://mail.example.com'));
    assert.equal(plain.host, 'mail.example.com');
    assert.equal(plain.port, 587);
    assert.equal(plain.secure, false);
    assert.equal(plain.auth, undefined);
    const tls = smtpTransportOptions(mail('smtps://mail.example.com'));
    assert.equal(tls.port, 465);
    assert.equal(tls.secure, true);
    assert.equal(smtpTransportOptions(mail('smtp://mail.example.com:25')).port, 25);
    assert.equal(smtpTransportOptions(mail('smtp://[::1]:2525')).host, '::1');
  });

  it('takes credentials from the URL (percent-decoded) or from SMTP_USER/SMTP_PASSWORD; the URL wins', () => {
    assert.deepEqual(smtpTransportOptions(mail('smtps://us%40er:p%40ss%20w@mail.example.com')).auth, {
      user: 'us@er',
      pass: 'p@ss w',
    });
    assert.deepEqual(smtpTransportOptions(mail('smtp://mail.example.com', { smtpUser: 'u', smtpPassword: 'p' })).auth, {
      user: 'u',
      pass: 'p',
    });
    assert.deepEqual(
      smtpTransportOptions(mail('smtp://x:y@mail.example.com', { smtpUser: 'u', smtpPassword: 'p' })).auth,
      {
        user: 'x',
        pass: 'y',
      },
    );
  });

  it('bounds every step so a hung server cannot hold a worker', () => {
    const o = smtpTransportOptions(mail('smtp://mail.example.com'));
    assert.equal(o.connectionTimeout, SMTP_TIMEOUTS.connectionTimeoutMs);
    assert.equal(o.greetingTimeout, SMTP_TIMEOUTS.greetingTimeoutMs);
    assert.equal(o.socketTimeout, SMTP_TIMEOUTS.socketTimeoutMs);
    assert.ok(SMTP_TIMEOUTS.socketTimeoutMs <= 60_000);
  });

  it('builds Message-IDs on the sender domain', () => {
    assert.equal(senderDomain('Gatehouse <no-reply@auth.example.com>'), 'auth.example.com');
    assert.equal(senderDomain('no-reply@example.org'), 'example.org');
  });
});
