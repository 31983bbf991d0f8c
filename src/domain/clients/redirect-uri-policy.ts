import { GatehouseError } from '../errors.js';
import type { ClientMetadataInput } from './client-metadata.js';

export interface RedirectUriPolicy {
  /**
   * Whether `http://localhost…` may be registered. Loopback IP literals are always allowed
   * (RFC 8252 §7.3); the name `localhost` can be resolved elsewhere (RFC 8252 §8.3), so it is
   * for development only.
   */
  allowHttpLocalhost: boolean;
}

/** IP literals that cannot leave the machine (URL.hostname keeps the brackets of IPv6). */
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

/**
 * RFC 8252 §7.1: a private-use scheme is a reverse domain name the app controls
 * (`com.example.app:/callback`), so a scheme without a dot (`myapp:`) is refused: it is the
 * kind of name another app on the device can claim too.
 */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

function problemWith(uri: string, nativeApp: boolean, policy: RedirectUriPolicy): string | undefined {
  if (uri.includes('*')) return `${uri}: wildcards are not allowed, register each URI exactly`;
  if (uri.includes('#')) return `${uri}: must not contain a fragment`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri}: must be an absolute URI`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (LOOPBACK_IPS.has(url.hostname)) return undefined;
    if (url.hostname === 'localhost') {
      return policy.allowHttpLocalhost
        ? undefined
        : `${uri}: http://localhost is not allowed here (ALLOW_HTTP_LOCALHOST_REDIRECTS); use http://127.0.0.1 or https`;
    }
    return `${uri}: must use https (http only for the loopback addresses 127.0.0.1 and [::1])`;
  }
  if (!nativeApp) return `${uri}: must use https (a private-use scheme needs application_type native)`;
  if (!PRIVATE_USE_SCHEME.test(url.protocol)) {
    return `${uri}: a native app's scheme must be a reverse domain name it controls, like com.example.app:/callback`;
  }
  return undefined;
}

/**
 * Where a client may send users back to (RFC 9700 §2.1, RFC 8252): https; http only for
 * loopback; private-use schemes only for native apps. The same rule for both redirect lists.
 * Throws `invalid_redirect_uri` naming the first offending URI.
 */
export function checkRedirectUris(metadata: ClientMetadataInput, policy: RedirectUriPolicy): void {
  const nativeApp = metadata.application_type === 'native';
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    for (const uri of metadata[field] ?? []) {
      const problem = problemWith(uri, nativeApp, policy);
      if (problem) throw new GatehouseError('invalid_redirect_uri', `${field}: ${problem}`);
    }
  }
}
