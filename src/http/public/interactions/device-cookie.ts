import type { Context } from 'koa';
import type { KnownDevices } from '../../../domain/accounts/known-devices.js';
import { auditContext } from '../../middleware/audit-context.js';

/**
 * The browser's device cookie: a random value; the server keeps only its hash (known_devices).
 * On an https issuer it is `__Host-` prefixed, like the session cookie: Secure, Path=/, no Domain,
 * so no sibling subdomain can plant or overwrite it.
 */
export const DEVICE_COOKIE = 'gatehouse.device';
export const deviceCookieName = (issuer: string) =>
  new URL(issuer).protocol === 'https:' ? `__Host-${DEVICE_COOKIE}` : DEVICE_COOKIE;
/** 400 days: the longest lifetime browsers keep a cookie (RFC 6265bis); renewed at every sign-in. */
const DEVICE_COOKIE_MAX_AGE_MS = 400 * 24 * 60 * 60 * 1000;

/** What the sign-in controller calls once a sign-in is complete. */
export interface SignInDevices {
  recordSignIn(ctx: Context, accountId: string): Promise<void>;
}

/**
 * The HTTP side of new-device notices: reads this browser's device cookie, lets KnownDevices
 * decide (and email the owner when the browser is new to the account), and sets the cookie again
 * for another 400 days. HttpOnly (no script needs it), SameSite=Lax, Secure on an https issuer.
 */
export function signInDevices(devices: KnownDevices, issuer: string): SignInDevices {
  const secure = new URL(issuer).protocol === 'https:';
  const name = deviceCookieName(issuer);
  return {
    async recordSignIn(ctx, accountId) {
      const device = await devices.signedIn(accountId, ctx.cookies.get(name), auditContext(ctx));
      ctx.cookies.set(name, device, {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/',
        maxAge: DEVICE_COOKIE_MAX_AGE_MS,
        overwrite: true,
      });
    },
  };
}
