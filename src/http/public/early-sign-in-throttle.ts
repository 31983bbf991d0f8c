import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignInThrottle } from '../../domain/authn/sign-in-throttle.js';
import { HTML_CSP } from '../middleware/security-headers.js';
import type { Views } from '../views.js';

/** The POSTs that hash a password: sign-in with a password, and registration. */
const HASHING_POST = /^\/interaction\/([\w-]{1,64})\/(?:login\/password|register)\/?(?:\?|$)/;

/** Whether the listener already counted this request against the address's limit (the Koa routes then skip it). */
export function throttledBeforeKoa(method: string, path: string): boolean {
  return method === 'POST' && HASHING_POST.test(path);
}

/** Refusals remembered per instance so each address is audited once per window, not once per request. */
const REPORTED_MAX = 10_000;

export interface EarlyThrottleHooks {
  /** The first refusal of an address in a window on this instance (an audit event, which also counts it). */
  firstRefusal(clientAddress: string): void;
  /** Every later refusal in that window (a metric only: cheap). */
  refusedAgain(): void;
}

/**
 * The per-address sign-in limit, applied in the public port's request listener before Koa, body
 * parsing, the session cookie or any storage read but one counter increment (none once this
 * instance has seen the address over the limit). A login flood then costs the server little more
 * than parsing the request line: the hashing capacity and the event loop stay with everyone else
 * (docs/reliability.md, "Login flood"). Returns true when it answered the request.
 */
export function earlySignInThrottle(
  throttle: SignInThrottle,
  views: Views,
  hooks: EarlyThrottleHooks,
): (req: IncomingMessage, res: ServerResponse, clientAddress: string) => Promise<boolean> {
  const reported = new Map<string, number>();
  // Rendered once: a flood's answers differ only in the interaction id (word characters, see
  // HASHING_POST) and Retry-After, so each is a string replace and one writeHead.
  const UID = 'UID-PLACEHOLDER';
  const pages = {
    429: views.render('error', 'Error', {
      heading: 'We could not continue',
      message: 'Too many sign-in attempts from your network. Please wait a minute and try again.',
      wayOutHref: `/interaction/${UID}`,
      wayOutLabel: 'Back to sign-in',
      code: 'too_many_requests',
    }),
    503: views.render('error', 'Error', {
      heading: 'We could not continue',
      message: 'The service is temporarily unavailable. Please try again shortly.',
      wayOutHref: `/interaction/${UID}`,
      wayOutLabel: 'Back to sign-in',
      code: 'temporarily_unavailable',
    }),
  };
  const answer = (res: ServerResponse, status: 429 | 503, uid: string, retryAfterSeconds: number) => {
    const body = pages[status].replace(UID, uid);
    // The unread form body is discarded by Node; the connection stays usable.
    res.writeHead(status, [
      'Retry-After',
      String(retryAfterSeconds),
      'Content-Type',
      'text/html; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
      'Content-Security-Policy',
      HTML_CSP,
      'X-Frame-Options',
      'DENY',
      'X-Content-Type-Options',
      'nosniff',
      'Referrer-Policy',
      'no-referrer',
      'Cache-Control',
      'no-store',
    ]);
    res.end(body);
  };

  return async (req, res, clientAddress) => {
    if (req.method !== 'POST') return false;
    const match = HASHING_POST.exec(req.url ?? '');
    if (!match) return false;
    const uid = match[1]!;
    let verdict: Awaited<ReturnType<SignInThrottle['check']>>;
    try {
      verdict = await throttle.check(clientAddress);
    } catch {
      // The counter's store is down: fail closed, as the rest of sign-in does without storage.
      answer(res, 503, uid, 5);
      return true;
    }
    if (verdict.allowed) return false;
    const nowSeconds = Math.floor(Date.now() / 1000);
    if ((reported.get(clientAddress) ?? 0) <= nowSeconds) {
      if (reported.size >= REPORTED_MAX) reported.clear();
      reported.set(clientAddress, nowSeconds + verdict.retryAfterSeconds);
      hooks.firstRefusal(clientAddress);
    } else hooks.refusedAgain();
    answer(res, 429, uid, verdict.retryAfterSeconds);
    return true;
  };
}
