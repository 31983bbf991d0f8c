import { errors } from 'oidc-provider';

/**
 * The error a losing concurrent redemption gets: the conditional write found the artifact
 * already consumed (or gone), so this request must not issue anything.
 */
export function alreadyConsumed(model: string): Error {
  const label =
    model === 'RefreshToken' ? 'refresh token' : model === 'AuthorizationCode' ? 'authorization code' : model;
  return new errors.InvalidGrant(`${label} already used`);
}
