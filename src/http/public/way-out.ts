/** The link an error or signed-out page offers so nobody is left on a dead end. */
export interface WayOut {
  href: string;
  label: string;
}

/** The client fields a way back needs (oidc-provider's Client, or our own client metadata). */
export interface ClientLike {
  clientName?: string;
  clientUri?: string;
  redirectUris?: string[];
  client_name?: string;
  client_uri?: string;
  redirect_uris?: string[];
}

export const START_AGAIN: WayOut = { href: '/', label: 'Start again' };

/** The URL when it is an http(s) address a browser can be sent to, else undefined. */
function webUrl(uri: string | undefined): URL | undefined {
  if (!uri) return undefined;
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * "Back to <app>" when the client is known: its registered client_uri, else the origin of its
 * first registered redirect URI (never a URI taken from the request). Native apps with only a
 * private-use scheme, and unknown clients, get "Start again".
 */
export function clientWayOut(client: ClientLike | undefined): WayOut {
  if (!client) return START_AGAIN;
  const name = client.clientName ?? client.client_name;
  const home = webUrl(client.clientUri ?? client.client_uri)?.href;
  const redirect = webUrl((client.redirectUris ?? client.redirect_uris)?.[0]);
  const href = home ?? (redirect ? `${redirect.origin}/` : undefined);
  if (!href) return START_AGAIN;
  return { href, label: `Back to ${name ?? 'the application'}` };
}
