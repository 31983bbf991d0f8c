import { errors } from 'oidc-provider';
import {
  ACCESS_TOKEN_TTL_MAX_SECONDS,
  ACCESS_TOKEN_TTL_MIN_SECONDS,
  REFRESH_TOKEN_TTL_MAX_SECONDS,
  REFRESH_TOKEN_TTL_MIN_SECONDS,
} from '../domain/clients/client-metadata.js';

/**
 * Gatehouse client settings oidc-provider must keep on its Client objects (it strips unknown
 * metadata): per-client token lifetimes, CORS origins, the hashes of rotated-out secrets, and
 * the sign-in assurance the client requires. The provider keeps each under its own name
 * (`client.require_mfa`), which is where the sign-in controller and the step-up check read it.
 */
export const CLIENT_SETTINGS_PROPERTIES = [
  'access_token_ttl_seconds',
  'refresh_token_ttl_seconds',
  'allowed_cors_origins',
  'client_secrets_previous',
  'require_mfa',
  'require_phishing_resistant',
] as const;

const BOOLEAN_SETTINGS = new Set<string>(['require_mfa', 'require_phishing_resistant']);

const intIn = (value: unknown, min: number, max: number) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

/**
 * The provider's own check of these settings (the admin API validates them first with the zod
 * schema; this is the last word for anything that reaches the provider another way).
 */
export function validateClientSetting(key: string, value: unknown): void {
  if (value === undefined) return;
  if (BOOLEAN_SETTINGS.has(key) && typeof value !== 'boolean')
    throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
  if (key === 'access_token_ttl_seconds' && !intIn(value, ACCESS_TOKEN_TTL_MIN_SECONDS, ACCESS_TOKEN_TTL_MAX_SECONDS)) {
    throw new errors.InvalidClientMetadata(
      `access_token_ttl_seconds must be an integer from ${ACCESS_TOKEN_TTL_MIN_SECONDS} to ${ACCESS_TOKEN_TTL_MAX_SECONDS}`,
    );
  }
  if (
    key === 'refresh_token_ttl_seconds' &&
    !intIn(value, REFRESH_TOKEN_TTL_MIN_SECONDS, REFRESH_TOKEN_TTL_MAX_SECONDS)
  ) {
    throw new errors.InvalidClientMetadata(
      `refresh_token_ttl_seconds must be an integer from ${REFRESH_TOKEN_TTL_MIN_SECONDS} to ${REFRESH_TOKEN_TTL_MAX_SECONDS}`,
    );
  }
  if (key === 'allowed_cors_origins' && !(Array.isArray(value) && value.every((o) => typeof o === 'string'))) {
    throw new errors.InvalidClientMetadata('allowed_cors_origins must be an array of origins');
  }
  if (
    key === 'client_secrets_previous' &&
    !(Array.isArray(value) && value.every((p) => typeof p?.hash === 'string' && Number.isInteger(p?.expires_at)))
  ) {
    throw new errors.InvalidClientMetadata('client_secrets_previous must be a list of { hash, expires_at }');
  }
}
