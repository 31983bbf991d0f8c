import type Provider from 'oidc-provider';

type ClientLike = { scope?: string; registered_scope?: string };

/**
 * RFC 7591 `scope` lists what a client may request. oidc-provider's client schema accepts only
 * OpenID scopes there, so API scopes are kept in `registered_scope` (provider-client-metadata.ts),
 * and a client registered with API scopes only ("read write") had no `scope` at all — which the
 * library reads as "every OpenID scope allowed". Its checks (authorization request and token
 * grants) compare only OpenID scopes against `client.scope`, so the full registered list is the
 * right allow-list: it is applied to each client as it is loaded.
 */
export function enforceRegisteredScope(provider: Provider): void {
  const Client = provider.Client as unknown as { find(id: string): Promise<ClientLike | undefined> };
  const find = Client.find.bind(Client);
  Client.find = async function findWithRegisteredScope(id: string) {
    const client = await find(id);
    if (client?.registered_scope) client.scope = client.registered_scope;
    return client;
  };
}
