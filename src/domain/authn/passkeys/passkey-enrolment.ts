import { randomUUID } from 'node:crypto';
import { Conflict } from '../../errors.js';
import type { CredentialRepository } from '../credentials.js';
import type { EnrollingAccount, EnrolmentMethod, EnrolmentResult } from '../enrolment.js';
import type { OneTimeValues } from '../one-time-values.js';
import { passkeyProof } from './passkey-proof.js';
import { parseRegistrationResponse } from './passkey-responses.js';
import {
  CHALLENGE_TTL_SECONDS,
  PASSKEY_SCRIPTS,
  type PasskeyRelyingParty,
  registrationChallengeKey,
} from './relying-party.js';
import type { PasskeyPublicData } from './stored-passkey.js';
import { descriptors, userHandleOf } from './stored-passkey.js';
import { toBase64Url, webAuthnLibrary } from './webauthn-library.js';

/** Shown in the browser's passkey dialog and stored with each passkey. */
const RP_NAME = 'Gatehouse';
/** A passkey's name is a person's label ("Work laptop"); longer input is cut. */
export const PASSKEY_NAME_MAX = 64;

/** The pending registration: its challenge, and whom it is for. */
interface PendingRegistration {
  challenge: string;
  accountId: string;
}

const refused = (status: 400 | 401, message: string): EnrolmentResult => ({ ok: false, status, message });

/** "Passkey (5 Dec 2026)" when the person gives no name. */
export function defaultPasskeyName(now: Date): string {
  const day = now.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  return `Passkey (${day})`;
}

/**
 * Adding a passkey: a discoverable credential (resident key required, so it can later sign in
 * without a password), user verification preferred. The challenge waits in one-time storage
 * under the binding (the interaction or the account-page session) and is taken once.
 */
export class PasskeyEnrolment implements EnrolmentMethod {
  readonly id = 'passkey' as const;

  constructor(
    private readonly rp: PasskeyRelyingParty,
    private readonly credentials: CredentialRepository,
    private readonly challenges: OneTimeValues,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async start(account: EnrollingAccount, binding: string): Promise<Record<string, unknown>> {
    const options = await (await webAuthnLibrary()).generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: this.rp.rpId,
      userName: account.email,
      userDisplayName: account.name ?? account.email,
      userID: userHandleOf(account.id),
      attestationType: 'none',
      // A device that already holds one of this account's passkeys is not asked to make a second.
      excludeCredentials: descriptors(await this.credentials.listFor(account.id, 'passkey')),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    const pending: PendingRegistration = { challenge: options.challenge, accountId: account.id };
    await this.challenges.put(registrationChallengeKey(binding), pending, CHALLENGE_TTL_SECONDS);
    return { optionsJson: JSON.stringify(options), scripts: PASSKEY_SCRIPTS, nameMax: PASSKEY_NAME_MAX };
  }

  async finish(account: EnrollingAccount, binding: string, form: Record<string, string>): Promise<EnrolmentResult> {
    const pending = await this.challenges.take<PendingRegistration>(registrationChallengeKey(binding));
    if (!pending || pending.accountId !== account.id) return refused(400, 'This request expired. Try again.');
    const response = parseRegistrationResponse(form.credential ?? '');
    if (!response) return refused(400, 'Your browser did not create a passkey. Try again.');
    const info = await this.verify(response, pending.challenge);
    if (!info) return refused(400, 'The passkey could not be checked. Try again.');

    const { credential } = info;
    const publicData: PasskeyPublicData = {
      publicKey: toBase64Url(credential.publicKey),
      transports: credential.transports ?? [],
      backedUp: info.credentialBackedUp,
      deviceType: info.credentialDeviceType,
      aaguid: info.aaguid,
    };
    const name = (form.name ?? '').trim().slice(0, PASSKEY_NAME_MAX) || defaultPasskeyName(this.now());
    try {
      const saved = await this.credentials.insert({
        id: randomUUID(),
        userId: account.id,
        type: 'passkey',
        name,
        externalId: credential.id,
        publicData: publicData as unknown as Record<string, unknown>,
        counter: credential.counter,
      });
      return {
        ok: true,
        credentialId: saved.id,
        proof: passkeyProof({ backedUp: info.credentialBackedUp, userVerified: info.userVerified }),
      };
    } catch (err) {
      if (err instanceof Conflict) return refused(400, 'This passkey is already registered.');
      throw err;
    }
  }

  private async verify(response: NonNullable<ReturnType<typeof parseRegistrationResponse>>, challenge: string) {
    try {
      const result = await (await webAuthnLibrary()).verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        // Preferred, not required: a security key without a PIN still makes a good second factor.
        requireUserVerification: false,
      });
      return result.verified ? result.registrationInfo : undefined;
    } catch {
      return undefined;
    }
  }
}
