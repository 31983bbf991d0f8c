import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from './account-client.js';
import type { ProviderRef } from './live-provider.js';
import { sessionEnded } from './session-lifetime.js';

/** The provider's browser session, as the account page needs it. */
export interface AccountSession {
  accountId: string;
  /** The session's public id: stable across sign-ins in one browser, never the cookie value. */
  uid: string;
  /** When the person last signed in (epoch seconds): the recent sign-in rule reads it. */
  loginTs: number;
  amr: string[];
  acr?: string;
}

/** What the account routes may ask of the provider (the only oidc-provider calls they make). */
export interface AccountSessions {
  /** The signed-in session of this browser (the provider's session cookie), if any. */
  current(ctx: Context): Promise<AccountSession | undefined>;
  /**
   * Uses up the account page's authorization code: it must be the account client's, match the
   * PKCE verifier the page kept, and come from the sign-in that made `session`. One conditional
   * write (the adapter's consume), so a code passes here once.
   */
  redeemCode(code: string, verifier: string, session: AccountSession): Promise<boolean>;
}

type Code = {
  clientId?: string;
  accountId?: string;
  sessionUid?: string;
  redirectUri?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  isExpired: boolean;
  consumed?: unknown;
  consume(): Promise<void>;
};

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** `sessionSeconds`: SESSION_TTL_SECONDS, the absolute lifetime a session has from its sign-in. */
export function accountSessions(providers: ProviderRef, issuer: string, sessionSeconds: number): AccountSessions {
  return {
    async current(ctx) {
      // Session.get reads the signed session cookie with the provider's cookie keys; an unknown,
      // expired or deleted session comes back without an accountId.
      const session = await providers.current.Session.get(ctx as never);
      if (!session.accountId || typeof session.loginTs !== 'number') return undefined;
      // Stored with a later expiry by an older release: the absolute lifetime still applies.
      if (sessionEnded(session.loginTs, Math.floor(Date.now() / 1000), sessionSeconds)) return undefined;
      return {
        accountId: session.accountId,
        uid: session.uid,
        loginTs: session.loginTs,
        amr: session.amr ?? [],
        ...(session.acr ? { acr: session.acr } : {}),
      };
    },

    async redeemCode(value, verifier, session) {
      const code = (await providers.current.AuthorizationCode.find(value)) as unknown as Code | undefined;
      if (!code || code.isExpired || code.consumed || code.clientId !== ACCOUNT_CLIENT_ID) return false;
      if (code.redirectUri !== accountCallbackUrl(issuer) || code.codeChallengeMethod !== 'S256') return false;
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!code.codeChallenge || !sameText(challenge, code.codeChallenge)) return false;
      if (code.accountId !== session.accountId || code.sessionUid !== session.uid) return false;
      try {
        await code.consume();
        return true;
      } catch {
        return false; // another request used it first
      }
    },
  };
}
