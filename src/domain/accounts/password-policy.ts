import { GatehouseError } from '../errors.js';
import {
  type CommonPasswordList,
  containedWord,
  emailWords,
  isCommonPassword,
  isRepetitiveOrSequential,
  nameWords,
  type PasswordContext,
} from './password-rules.js';

export type { CommonPasswordList, PasswordContext } from './password-rules.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /** Folded words naming this service (`serviceWords(productName, issuer)`): the product and issuer host. */
  serviceWords: readonly string[];
  /** Common and breached passwords, lower-cased (src/storage/password-lists/, loaded once at start-up). */
  commonPasswords: CommonPasswordList;
}

/** The messages name the rule that failed; the registration and reset pages show them as they are. */
export const PASSWORD_RULE_MESSAGES = {
  service: 'password must not contain the name of this service',
  email: 'password must not contain your email address',
  name: 'password must not contain your name',
  repetitive: 'password is too repetitive or sequential',
  common: 'password is on a list of common or breached passwords',
} as const;

const refuse = (message: string) => new GatehouseError('invalid_password', message);

/**
 * NIST SP 800-63B-4 §3.1.1.2 for a password used alone: a length range and a blocklist — no
 * composition rules. Length is counted in Unicode code points after NFC normalisation; then the
 * context words (service, email, name), repetition and sequences, and the common-password list,
 * in that order: the first rule that fails is the one the message names. Every check is linear in
 * the password's length (the list is a hash lookup), so it adds nothing noticeable to a request.
 */
export function checkPassword(policy: PasswordPolicy, password: string, context: PasswordContext = {}): string {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < policy.minLength) throw refuse(`password must be at least ${policy.minLength} characters`);
  if (length > policy.maxLength) throw refuse(`password must be at most ${policy.maxLength} characters`);
  if (containedWord(normalized, policy.serviceWords)) throw refuse(PASSWORD_RULE_MESSAGES.service);
  if (context.email && containedWord(normalized, emailWords(context.email))) throw refuse(PASSWORD_RULE_MESSAGES.email);
  if (context.name && containedWord(normalized, nameWords(context.name))) throw refuse(PASSWORD_RULE_MESSAGES.name);
  if (isRepetitiveOrSequential(normalized)) throw refuse(PASSWORD_RULE_MESSAGES.repetitive);
  if (isCommonPassword(normalized, policy.commonPasswords)) throw refuse(PASSWORD_RULE_MESSAGES.common);
  return normalized;
}
