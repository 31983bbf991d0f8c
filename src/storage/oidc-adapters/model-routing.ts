/**
 * Which oidc-provider model lives where — the one table that decides it.
 * `durable`: SQL always (survives restarts, shared by every instance).
 * `ephemeral`: Redis when REDIS_URL is set, else SQL with an expiry and the sweeper.
 * `clients`: the clients table, written by the admin API, read by the provider.
 */
export const MODEL_ROUTING = {
  Client: 'clients',
  Grant: 'durable',
  Session: 'durable',
  RefreshToken: 'durable',
  RegistrationAccessToken: 'durable',
  InitialAccessToken: 'durable',
  AuthorizationCode: 'ephemeral',
  AccessToken: 'ephemeral',
  ClientCredentials: 'ephemeral',
  Interaction: 'ephemeral',
  PushedAuthorizationRequest: 'ephemeral',
  ReplayDetection: 'ephemeral',
  DeviceCode: 'ephemeral',
  BackchannelAuthenticationRequest: 'ephemeral',
} as const satisfies Record<string, 'clients' | 'durable' | 'ephemeral'>;

export type ModelName = keyof typeof MODEL_ROUTING;

export function routeFor(model: string): 'clients' | 'durable' | 'ephemeral' {
  return (MODEL_ROUTING as Record<string, 'clients' | 'durable' | 'ephemeral'>)[model] ?? 'durable';
}
