import { randomUUID } from 'node:crypto';
import type { RequestOrigin } from '../../events/domain-events.js';
import type { KeyEncryption } from '../../keys/key-encryption.js';
import type { CredentialRepository } from '../credentials.js';
import type { EnrollingAccount, EnrolmentMethod, EnrolmentResult } from '../enrolment.js';
import type { OneTimeValues } from '../one-time-values.js';
import {
  formatSetupKey,
  newTotpSecret,
  normaliseTotpCode,
  otpauthUri,
  pendingTotpContext,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  totpSecretContext,
  verifyTotp,
} from './totp-codes.js';
import { TOTP_PROOF } from './totp-strategy.js';

/** How long a shown QR code can be confirmed: long enough to find the phone and install an app. */
export const TOTP_SETUP_TTL_SECONDS = 10 * 60;

/** A secret shown but not yet confirmed; sealed, because short-lived storage is storage too. */
interface PendingSetup {
  accountId: string;
  sealed: string;
}

export interface TotpEnrolmentOptions {
  /** The name the app lists the code under (the issuer's host: people recognise where they sign in). */
  issuer: string;
  /** Epoch milliseconds. */
  clock?: () => number;
}

const EXPIRED = 'The setup timed out. Scan the new QR code and enter the code it shows.';
const TAKEN = 'An authenticator app is already set up for this account.';
const NO_MATCH =
  'That code did not work. Check that you scanned the QR code on this page, then enter the code the app shows now.';

/**
 * Turning on an authenticator app: `start` makes a secret (or shows the pending one again, so a
 * reload keeps the same QR code) and keeps it sealed in one-time storage under the binding;
 * `finish` checks a code from the app against it, then stores the credential with the accepted
 * step as its counter (that code cannot be used again to sign in). One app per account: a second
 * one is refused; the person turns the first off on the account page.
 */
export class TotpEnrolment implements EnrolmentMethod {
  readonly id = 'totp' as const;
  private readonly clock: () => number;

  constructor(
    private readonly credentials: CredentialRepository,
    private readonly pending: OneTimeValues,
    private readonly kek: KeyEncryption,
    private readonly options: TotpEnrolmentOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  private key = (binding: string) => `totp-setup:${binding}`;

  /** The secret waiting under this binding for this account, if any. */
  private async pendingSetup(account: EnrollingAccount, binding: string) {
    const value = await this.pending.peek<PendingSetup>(this.key(binding));
    if (value?.accountId !== account.id) return undefined;
    return { sealed: value.sealed, secret: this.kek.decrypt(value.sealed, pendingTotpContext(account.id, binding)) };
  }

  async start(account: EnrollingAccount, binding: string): Promise<Record<string, unknown>> {
    let secret = (await this.pendingSetup(account, binding))?.secret;
    if (!secret) {
      secret = newTotpSecret();
      const value: PendingSetup = {
        accountId: account.id,
        sealed: this.kek.encrypt(secret, pendingTotpContext(account.id, binding)),
      };
      await this.pending.put(this.key(binding), value, TOTP_SETUP_TTL_SECONDS);
    }
    const uri = otpauthUri(this.options.issuer, account.email, secret);
    // Rendered here, not by a script on the page: CSP allows `img-src data:` and no script.
    // qrcode is loaded on the first enrolment, not at start-up.
    const { default: QRCode } = await import('qrcode');
    const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return {
      qrCode: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
      setupKey: formatSetupKey(secret),
      issuer: this.options.issuer,
      accountName: account.email,
      digits: TOTP_DIGITS,
      periodSeconds: TOTP_PERIOD_SECONDS,
    };
  }

  async finish(
    account: EnrollingAccount,
    binding: string,
    form: Record<string, string>,
    _origin: RequestOrigin,
  ): Promise<EnrolmentResult> {
    const code = normaliseTotpCode(String(form.code ?? '').slice(0, 64));
    if (!code) return { ok: false, status: 400, message: 'Enter the 6-digit code your authenticator app shows.' };
    const setup = await this.pendingSetup(account, binding);
    if (!setup) return { ok: false, status: 400, message: EXPIRED };
    const { secret } = setup;
    const step = await verifyTotp(secret, code, this.clock());
    if (step === undefined) return { ok: false, status: 401, message: NO_MATCH };
    if ((await this.credentials.listFor(account.id, 'totp')).length) return { ok: false, status: 400, message: TAKEN };
    // Taken once: of two tabs confirming the same setup, one stores it.
    const taken = await this.pending.take<PendingSetup>(this.key(binding));
    if (taken?.accountId !== account.id || taken.sealed !== setup.sealed)
      return { ok: false, status: 400, message: EXPIRED };
    const id = randomUUID();
    await this.credentials.insert({
      id,
      userId: account.id,
      type: 'totp',
      secretSealed: this.kek.encrypt(secret, totpSecretContext(id)),
      publicData: { algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS },
      counter: step,
    });
    // Two setups confirmed at once from different places: the first stored stays, the other goes.
    const all = await this.credentials.listFor(account.id, 'totp');
    if (all[0]?.id !== id) {
      await this.credentials.delete(account.id, id);
      return { ok: false, status: 400, message: TAKEN };
    }
    return { ok: true, credentialId: id, proof: TOTP_PROOF };
  }
}
