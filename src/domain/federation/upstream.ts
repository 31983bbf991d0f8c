import type { Connection } from './connection.js';

/**
 * The relying-party side of an upstream OpenID Connect / OAuth 2.0 connection, as the domain needs
 * it: send the browser there, then check and redeem what comes back. Implemented with
 * openid-client in src/federation/upstream-clients.ts (network I/O stays out of domain/).
 */
/** What an upstream said about the person, after every check passed. */
export interface UpstreamProfile {
  subject: string;
  email?: string;
  /** Only true when the upstream asserts it (`email_verified`, or GitHub's verified primary address). */
  emailVerified: boolean;
  name?: string;
  /** The upstream's own `amr` / `acr` (OIDC), kept for the audit log and `trusted_mfa`. */
  amr?: string[];
  acr?: string;
}

/** What `begin` keeps for the callback (never sent to the browser but `state`). */
export interface UpstreamRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** An upstream refused or an answer failed a check; `reason` goes to the audit log, never to the page. */
export class UpstreamError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A connection this port serves. */
export type UpstreamConnection = Extract<Connection, { type: 'oidc' | 'oauth2' }>;

export interface Upstream {
  /** The authorization request to send the browser to. */
  start(connection: UpstreamConnection, secret: string | undefined, redirectUri: string): Promise<UpstreamRequest>;
  /** The callback URL as the upstream sent it back, checked and redeemed; UpstreamError when a check fails. */
  finish(
    connection: UpstreamConnection,
    secret: string | undefined,
    callbackUrl: URL,
    request: Omit<UpstreamRequest, 'url'>,
  ): Promise<UpstreamProfile>;
}
