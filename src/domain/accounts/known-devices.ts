import { createHash, randomBytes } from 'node:crypto';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { Mailer } from '../mail/mail.js';
import { describeBrowser } from './browser-name.js';
import { emailTime } from './account-changes.js';
import type { User } from './user.js';

/** Storage port: the browsers (device cookie hashes) each account has signed in from. Durable SQL. */
export interface KnownDeviceRepository {
  /**
   * Records a sign-in of `userId` from `deviceHash` at `at` in one statement (first_seen on the
   * first, last_seen every time). `isNew`: this was the first; `others`: how many other devices
   * the account had already.
   */
  record(userId: string, deviceHash: string, at: Date): Promise<{ isNew: boolean; others: number }>;
}

export interface KnownDevicesDeps {
  repo: KnownDeviceRepository;
  users: { get(id: string): Promise<User> };
  mailer: Pick<Mailer, 'send' | 'link'>;
  events: DomainEvents;
  /** NOTIFY_NEW_DEVICE: email the owner on a sign-in from a new browser. */
  notify: boolean;
  /** @default Date.now */
  now?: () => number;
}

/** 256 random bits: the device cookie is a bearer value; only its SHA-256 is stored. */
const DEVICE_BYTES = 32;
const DEVICE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const deviceHash = (device: string) => createHash('sha256').update(device).digest('base64url');

/**
 * New-device notices: a browser is known by a long-lived random cookie; a sign-in from one the
 * account has not used before emails the owner (when, browser, address) and emits
 * `new_device.signed_in`.
 *
 * The first browser an account ever signs in from is learned without a notice: that is the
 * sign-up itself (no surprise email on registering), or the first sign-in after this feature was
 * turned on (no email storm for every existing account after an upgrade). From then on, every
 * other browser is a new device.
 */
export class KnownDevices {
  readonly #now: () => number;
  constructor(private readonly deps: KnownDevicesDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /**
   * A completed sign-in of `userId` from the browser holding `device` (its cookie, if any).
   * Returns the device value to keep in the cookie: the same one, or a new one.
   */
  async signedIn(userId: string, device: string | undefined, origin: RequestOrigin): Promise<string> {
    const value = device && DEVICE_SHAPE.test(device) ? device : randomBytes(DEVICE_BYTES).toString('base64url');
    const now = this.#now();
    const seen = await this.deps.repo.record(userId, deviceHash(value), new Date(now));
    if (seen.isNew && seen.others > 0 && this.deps.notify) await this.notify(userId, now, origin);
    return value;
  }

  private async notify(userId: string, now: number, origin: RequestOrigin): Promise<void> {
    const { users, mailer, events } = this.deps;
    const user = await users.get(userId);
    events.emit({ type: 'new_device.signed_in', accountId: userId }, origin);
    await mailer.send(user.email, 'new-device', {
      when: emailTime(now),
      browser: describeBrowser(origin.userAgent),
      ip: origin.ip ?? 'unknown',
      resetLink: mailer.link('/forgot-password'),
    });
  }
}
