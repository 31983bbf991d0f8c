import type { IncomingMessage } from 'node:http';
import { resolveClientAddress, type TrustedProxies } from '../middleware/client-address.js';

/**
 * Decides once, before any Koa app sees a public request, where it came from and which origin it
 * addresses — and writes that decision into the headers both Koa apps (ours and oidc-provider,
 * each with `proxy = true`) read:
 * - `X-Forwarded-For` becomes the one client address (`resolveClientAddress`: believed only from
 *   TRUSTED_PROXIES, right-most untrusted hop), so `ctx.ip` is the same in the sign-in throttle,
 *   our audit events and the provider's;
 * - `Host`, `X-Forwarded-Host` and `X-Forwarded-Proto` become the ISSUER's host and scheme, so every
 *   absolute URL (discovery, redirects, form actions) is issuer-derived whatever Host or
 *   X-Forwarded-Host a caller or a misconfigured proxy sent, and `ctx.secure` is true exactly when
 *   the issuer is https (cookies may then be Secure even though TLS ends at the proxy).
 * Requests are served, not refused, on a foreign host: load balancers probe /healthz with an IP as
 * Host, and nothing in a response depends on the request's host any more.
 */
export function pinRequestToIssuer(issuer: string, trusted: TrustedProxies): (req: IncomingMessage) => void {
  const url = new URL(issuer);
  const host = url.host;
  const proto = url.protocol.slice(0, -1);
  return (req) => {
    const client = resolveClientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
    req.headers['x-forwarded-for'] = client;
    req.headers.host = host;
    req.headers['x-forwarded-host'] = host;
    req.headers['x-forwarded-proto'] = proto;
  };
}
