import { errors } from 'oidc-provider';

/**
 * The InvalidGrant detail (`error_detail`; the message is the code) when a rotated refresh token
 * comes back: from oidc-provider's own check (lib/actions/grants/refresh_token.js), from our
 * adapters' conditional write (storage/oidc-adapters/already-consumed.ts) and for a lost race.
 */
export const REFRESH_TOKEN_REUSED = 'refresh token already used';

/**
 * A refresh whose conditional rotation found the token consumed by a concurrent request: reuse,
 * detected at the write instead of the read. The family has been revoked.
 */
export class RefreshRotationLost extends errors.InvalidGrant {
  readonly familyRevoked = true;
  constructor() {
    super(REFRESH_TOKEN_REUSED);
  }
}
