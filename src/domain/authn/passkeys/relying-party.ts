/**
 * Where passkeys are bound: the relying party id (the ISSUER host, or WEBAUTHN_RP_ID) and the
 * origins a browser may answer from (the ISSUER origin, plus WEBAUTHN_ORIGINS). Given by the
 * composition root; the domain never reads config.
 */
export interface PasskeyRelyingParty {
  rpId: string;
  origins: readonly string[];
}

/**
 * How long a challenge may be answered. The browser gives up after the options' own timeout
 * (60 s by default); five minutes leaves room for a person who reads the page first, while a
 * captured challenge is worth nothing for long.
 */
export const CHALLENGE_TTL_SECONDS = 300;

/** The sign-in challenge of one interaction: the latest page drawn for it holds the only valid one. */
export const signInChallengeKey = (interactionUid: string) => `webauthn:${interactionUid}`;

/** A pending registration, bound to one interaction or one account-page session. */
export const registrationChallengeKey = (binding: string) => `webauthn-reg:${binding}`;

/** Pages with a passkey button load these (our origin only: `script-src 'self'`), in this order. */
export const PASSKEY_SCRIPTS: readonly string[] = ['/assets/simplewebauthn-browser.js', '/assets/passkey.js'];
