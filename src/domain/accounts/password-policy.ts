import { GatehouseError } from '../errors.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

/**
 * NIST SP 800-63B-4 for a password used alone: a length range and nothing else — no composition
 * rules. Length is counted in Unicode code points after NFC normalisation.
 */
export function checkPassword(policy: PasswordPolicy, password: string): string {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < policy.minLength) {
    throw new GatehouseError('invalid_password', `password must be at least ${policy.minLength} characters`);
  }
  if (length > policy.maxLength) {
    throw new GatehouseError('invalid_password', `password must be at most ${policy.maxLength} characters`);
  }
  return normalized;
}
