/**
 * Storage port for short-lived, single-use values (WebAuthn challenges, a TOTP secret waiting
 * for its first code): written with a lifetime, taken at most once. Lives where the other
 * short-lived artifacts live (Redis, or SQL when embedded), so any instance can take what
 * another one put.
 */
export interface OneTimeValues {
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Returns the value and removes it in one step; undefined when absent, expired or already taken. */
  take<T = unknown>(key: string): Promise<T | undefined>;
  /** Reads without taking (a page shown twice); undefined when absent or expired. */
  peek<T = unknown>(key: string): Promise<T | undefined>;
  /**
   * Writes only when the key is absent or expired; true when this call wrote it. Across instances
   * exactly one caller wins (replay detection: a SAML assertion ID accepted once).
   */
  putIfAbsent(key: string, value: unknown, ttlSeconds: number): Promise<boolean>;
}
