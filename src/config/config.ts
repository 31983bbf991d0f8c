import fs from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { FAULT_POINTS, type FaultPoint } from '../observability/fault-points.js';
import { LOOPBACK_AND_PRIVATE_NETWORKS, parseTrustedProxies } from './trusted-proxies.js';

/**
 * Every setting Gatehouse reads, its environment variable, its default and why.
 * `process.env` is read here and nowhere else; the rest of the code receives `Config`.
 */
const port = z.coerce.number().int().min(1).max(65535);
const positiveSeconds = z.coerce.number().int().positive();
/** `on`/`off` (also true/false/1/0): the issue's spelling of feature switches. */
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const configSchema = z.object({
  /** Public HTTP port of the provider. @default 3000 */
  PORT: port.default(3000),
  /** Host the public port binds to. @default 0.0.0.0 */
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Issuer identifier: the public base URL (http:// or https://), no trailing slash.
   * @default http://localhost:$PORT, so changing PORT alone gives a working local issuer
   */
  ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine(
      (u) => !u.endsWith('/') && !u.includes('#') && !u.includes('?'),
      'must have no trailing slash, query or fragment',
    )
    .optional(),
  /** Admin API port, never the provider. @default 3001 */
  ADMIN_PORT: port.default(3001),
  /** Admin API bind address: loopback unless you put it behind your own network controls. @default 127.0.0.1 */
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL connection string. Unset: embedded PGlite in GATEHOUSE_DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** PostgreSQL pool size per instance. @default 10 */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** A query without an answer this long fails (503) and frees the request: a hung database or network. @default 5 */
  DATABASE_QUERY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(5),
  /** Redis URL (redis:// or rediss://) for short-lived artifacts. Unset: they live in SQL. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of every Redis key this deployment writes. @default gatehouse: */
  REDIS_KEY_PREFIX: z.string().default('gatehouse:'),
  /** Embedded-mode data directory (PGlite). @default ./data */
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./data'),
  /** Directory with the key-encryption key and generated admin key. @default ./keys */
  GATEHOUSE_KEYS_DIR: z.string().min(1).default('./keys'),
  /** Key-encryption key (base64url, 32 bytes) for private keys at rest. Unset: keys/kek is generated. */
  GATEHOUSE_KEK: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes in base64url (43 characters)')
    .optional(),
  /** Admin API bearer key. Unset: generated into keys/admin-key on first start. */
  GATEHOUSE_ADMIN_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** HMAC pepper mixed into password hashes. Changing it invalidates every password. */
  GATEHOUSE_PASSWORD_PEPPER: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Allow self-service registration. @default true in embedded mode, false with DATABASE_URL */
  GATEHOUSE_REGISTRATION: bool.optional(),
  /**
   * Allow clients to register `http://localhost` redirect URIs (development). Loopback IP
   * literals (`http://127.0.0.1:*`, `http://[::1]:*`) are always allowed; every other redirect
   * URI must be https (or a native app's private-use scheme).
   * @default true in embedded mode, false with DATABASE_URL
   */
  ALLOW_HTTP_LOCALHOST_REDIRECTS: bool.optional(),
  /** Minimum password length (NIST SP 800-63B-4, password used alone). @default 15 */
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(256).default(15),
  /** Maximum password length. @default 256 */
  PASSWORD_MAX_LENGTH: z.coerce.number().int().min(64).max(4096).default(256),
  /** Argon2id memory cost in KiB. @default 19456 (OWASP minimum) */
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(8192).max(4_194_304).default(19456),
  /** Argon2id iterations. @default 2 */
  ARGON2_ITERATIONS: z.coerce.number().int().min(1).max(20).default(2),
  /** Argon2id parallelism. @default 1 */
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * Every account needs a second factor (authenticator app or passkey): an account without one
   * sets one up before its sign-in finishes. Clients can require it alone (`require_mfa`). @default false
   */
  MFA_REQUIRED: bool.default(false),
  /**
   * WebAuthn relying party id: the domain passkeys are bound to. It must be the ISSUER host or a
   * parent domain of it; changing it later makes every registered passkey unusable. @default the ISSUER host
   */
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, 'must be a domain name (no scheme, port or path)')
    .optional(),
  /** Further origins allowed in WebAuthn responses, comma-separated (the ISSUER origin always is). @default none */
  WEBAUTHN_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be http(s) origins, comma-separated' }))),
  /**
   * Sign-in and registration attempts allowed per client address per minute, across all
   * instances; more get 429 before any password is hashed. 0 = no limit. Behind a proxy, set
   * TRUSTED_PROXIES so the address is the client's, not the proxy's. @default 60
   */
  SIGN_IN_ATTEMPTS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(60),
  /**
   * After this many consecutive failed passwords for one email, password sign-in is locked for
   * that account until a password reset or `POST /admin/users/:id/unlock` (NIST SP 800-63B-4
   * allows at most 100). Slow-down starts after 5 failures. @default 20
   */
  ACCOUNT_LOCKOUT_THRESHOLD: z.coerce.number().int().min(6).max(100).default(20),
  /**
   * SMTP server for outgoing mail: `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`
   * (TLS from the start), with credentials in the URL or in SMTP_USER/SMTP_PASSWORD. Unset: mail
   * stays queued in the outbox (readable at GET /admin/outbox on the admin port) and is logged as queued.
   */
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  /** SMTP user name, when not in SMTP_URL. */
  SMTP_USER: z.string().optional(),
  /** SMTP password, when not in SMTP_URL. */
  SMTP_PASSWORD: z.string().optional(),
  /** Sender of every email (`Name <address>` or an address). @default "Gatehouse <no-reply@ISSUER host>" */
  MAIL_FROM: z.string().min(3).optional(),
  /**
   * Email ownership at registration: `required` (the account exists once the link in the email is
   * followed), `optional` (signed in at once, `email_verified` false until the link is used), `off`
   * (no verification email). @default required
   */
  EMAIL_VERIFICATION: z.enum(['required', 'optional', 'off']).default('required'),
  /** Offer "Email me a sign-in code" on the sign-in page (a 6-digit code, one factor). @default off */
  EMAIL_SIGN_IN: onOff.default(false),
  /** Offer a sign-in link by email (works when opened on another device). @default off */
  EMAIL_SIGN_IN_LINK: onOff.default(false),
  /** Email the owner when their account signs in from a browser it has not used before. @default on */
  NOTIFY_NEW_DEVICE: onOff.default(true),
  /** Access token lifetime. @default 600 (10 minutes) */
  ACCESS_TOKEN_TTL_SECONDS: positiveSeconds.default(600),
  /** Lifetime of access tokens for the admin API (`urn:gatehouse:admin`): short, since a leaked one is an admin. @default 300 */
  ADMIN_ACCESS_TOKEN_TTL_SECONDS: positiveSeconds.max(3600).default(300),
  /** Authorization code lifetime. @default 60 */
  AUTHORIZATION_CODE_TTL_SECONDS: positiveSeconds.max(600).default(60),
  /** ID token lifetime. @default 3600 */
  ID_TOKEN_TTL_SECONDS: positiveSeconds.default(3600),
  /** Lifetime of one refresh token (sliding, renewed on every rotation). @default 1209600 (14 days) */
  REFRESH_TOKEN_TTL_SECONDS: positiveSeconds.default(14 * 24 * 3600),
  /** Absolute lifetime of a refresh-token rotation chain; then the user signs in again. @default 2592000 (30 days) */
  REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS: positiveSeconds.default(30 * 24 * 3600),
  /**
   * Absolute lifetime of a browser session, counted from sign-in: no activity and no silent
   * `prompt=none` sign-in extends it. @default 604800 (7 days)
   */
  SESSION_TTL_SECONDS: positiveSeconds.default(7 * 24 * 3600),
  /**
   * A browser session unused this long ends; each use (any /authorize request of the browser,
   * silent ones too) restarts it, never past the absolute end. @default 86400 (24 hours)
   */
  SESSION_IDLE_TTL_SECONDS: positiveSeconds.default(24 * 3600),
  /** Lifetime of a login/consent interaction. @default 3600 */
  INTERACTION_TTL_SECONDS: positiveSeconds.default(3600),
  /** Grant (consent record) lifetime. @default 31536000 (1 year) */
  GRANT_TTL_SECONDS: positiveSeconds.default(365 * 24 * 3600),
  /** Default signing algorithm of ID tokens and JWT access tokens. @default ES256 */
  DEFAULT_SIGNING_ALG: z.enum(['ES256', 'RS256', 'EdDSA']).default('ES256'),
  /** Log line format: `json` (one pino JSON object per line) or `pretty` (coloured, for humans, via pino-pretty). @default json */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** pino log level. @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * The proxies in front of the public port: comma-separated IPv4/IPv6 addresses and CIDRs.
   * X-Forwarded-For is believed only when the TCP peer is one of them, and the client address is
   * the right-most hop that is not. Empty: nobody is trusted, the TCP peer is the client. @default ""
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseTrustedProxies(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Deprecated, use TRUSTED_PROXIES: `true` trusts loopback and private ranges (warns at start). @default false */
  TRUST_PROXY: bool.default(false),
  /** `Cache-Control: max-age` of discovery (/.well-known/openid-configuration). @default 300 */
  DISCOVERY_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Seconds to wait for in-flight requests on SIGTERM. @default 10 */
  SHUTDOWN_GRACE_SECONDS: positiveSeconds.max(300).default(10),
  /**
   * On SIGTERM, first answer /readyz with 503 and keep serving this long, so load balancers stop
   * sending new requests before the listener closes (set it ≥ the balancer's health-check
   * interval × fall count). @default 0
   */
  SHUTDOWN_DELAY_SECONDS: z.coerce.number().min(0).max(120).default(0),
  /**
   * How often queued audit events are written (one COPY per batch). Longer means fewer writes
   * and more events held in memory; shutdown always writes what is queued. @default 200
   */
  AUDIT_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(200),
  /**
   * Keep an audit log (sign-ins, tokens issued, revocations, admin changes) in `audit_events`.
   * false: nothing is recorded and the admin audit endpoints list no events. @default true
   */
  AUDIT_LOG_ENABLED: bool.default(true),
  /**
   * Require a server-issued DPoP nonce in DPoP proofs at the token endpoint (RFC 9449 §8): a proof
   * without a fresh nonce gets `use_dpop_nonce` and a `DPoP-Nonce` header, so a proof generated
   * ahead of time (by malware on the client, say) cannot be used later. @default true
   */
  DPOP_REQUIRE_NONCE: bool.default(true),
  /**
   * RP-initiated logout signs out without the confirmation page when the request's id_token_hint
   * is valid and names the current session (its `sid` and account); with no hint, or a hint for
   * another session or account, the page still asks. @default true
   */
  LOGOUT_SKIP_CONFIRMATION_WITH_HINT: bool.default(true),
  /** `Cache-Control: max-age` of /jwks: how long relying parties may cache the key set. @default 300 */
  JWKS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /**
   * How often each instance re-reads the signing keys (the fallback when no Redis notification
   * arrives, and the tick that moves keys through next → current → previous → retired). @default 5
   */
  SIGNING_KEY_POLL_SECONDS: z.coerce.number().int().min(1).max(10).default(5),
  /**
   * How long a staged key is published in JWKS before it signs. At least JWKS_MAX_AGE_SECONDS +
   * SIGNING_KEY_POLL_SECONDS + 5, so every relying party's cached key set holds it first. @default 600
   */
  SIGNING_KEY_PUBLISH_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional(),
  /** Extra time a replaced key stays in JWKS after the longest token it can have signed expired (clock skew). @default 300 */
  SIGNING_KEY_RETIRE_GRACE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Rotate the signing keys automatically when the current ones are this old (staged, like POST /admin/keys/rotate). 0 = off. @default 0 */
  SIGNING_KEY_ROTATION_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400)
    .default(0),
  /** Test only (npm run test:faults): kill the process at a named point. Never set in production. */
  GATEHOUSE_FAULT_INJECTION: z.enum(FAULT_POINTS as [FaultPoint, ...FaultPoint[]]).optional(),
});

type Env = z.infer<typeof configSchema>;

export interface Config {
  port: number;
  host: string;
  issuer: string;
  adminPort: number;
  adminHost: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  databaseQueryTimeoutSeconds: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  dataDir: string;
  keysDir: string;
  kek: string | undefined;
  adminKey: string | undefined;
  passwordPepper: string | undefined;
  registrationEnabled: boolean;
  allowHttpLocalhostRedirects: boolean;
  passwordPolicy: { minLength: number; maxLength: number };
  signInAttemptsPerMinute: number;
  /** ACCOUNT_LOCKOUT_THRESHOLD: consecutive password failures that lock password sign-in. */
  accountLockoutThreshold: number;
  /** Outgoing mail: no `smtpUrl` means mail stays in the outbox. */
  mail: { smtpUrl: string | undefined; smtpUser: string | undefined; smtpPassword: string | undefined; from: string };
  emailVerification: 'required' | 'optional' | 'off';
  /** EMAIL_SIGN_IN (`code`) and EMAIL_SIGN_IN_LINK (`link`). */
  emailSignIn: { code: boolean; link: boolean };
  notifyNewDevice: boolean;
  /** MFA_REQUIRED. */
  mfaRequired: boolean;
  /** Passkeys: RP id (WEBAUTHN_RP_ID, else the ISSUER host) and the origins responses may come from. */
  webauthn: { rpId: string; origins: string[] };
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  ttl: {
    accessTokenSeconds: number;
    adminAccessTokenSeconds: number;
    authorizationCodeSeconds: number;
    idTokenSeconds: number;
    refreshTokenSeconds: number;
    refreshTokenAbsoluteSeconds: number;
    /** Absolute, from sign-in. */
    sessionSeconds: number;
    /** Idle: a session unused this long ends. */
    sessionIdleSeconds: number;
    interactionSeconds: number;
    grantSeconds: number;
  };
  defaultSigningAlg: 'ES256' | 'RS256' | 'EdDSA';
  logLevel: Env['LOG_LEVEL'];
  /** TRUSTED_PROXIES (or, for the deprecated TRUST_PROXY=true, loopback + private ranges). */
  trustedProxies: string[];
  /** TRUST_PROXY=true was set: start-up warns once. */
  deprecatedTrustProxy: boolean;
  discoveryMaxAgeSeconds: number;
  logFormat: Env['LOG_FORMAT'];
  shutdownGraceSeconds: number;
  shutdownDelaySeconds: number;
  auditFlushIntervalMs: number;
  auditLogEnabled: boolean;
  /** DPoP proofs at the token endpoint must carry a server nonce. */
  dpopRequireNonce: boolean;
  /** Logout without the confirmation page for an id_token_hint of the current session. */
  logoutSkipConfirmationWithHint: boolean;
  /** Test-only crash point (GATEHOUSE_FAULT_INJECTION). */
  faultInjection: FaultPoint | undefined;
  signingKeys: {
    jwksMaxAgeSeconds: number;
    /** The shortest safe publish time: cache lifetime + poll interval + skew margin. */
    minPublishSeconds: number;
    pollSeconds: number;
    publishSeconds: number;
    retireGraceSeconds: number;
    /** 0 = no automatic rotation. */
    rotationIntervalSeconds: number;
  };
}

/** Clock skew between instances and slow reloads that a staged key's publish time must absorb. */
export const SIGNING_KEY_SKEW_MARGIN_SECONDS = 5;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment once at start-up; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.PASSWORD_MIN_LENGTH > e.PASSWORD_MAX_LENGTH) {
    throw new ConfigError(['PASSWORD_MIN_LENGTH: must not exceed PASSWORD_MAX_LENGTH']);
  }
  // A margin over cache lifetime + propagation for slow reloads and clock skew between instances.
  const minPublish = e.JWKS_MAX_AGE_SECONDS + e.SIGNING_KEY_POLL_SECONDS + SIGNING_KEY_SKEW_MARGIN_SECONDS;
  const publishSeconds = e.SIGNING_KEY_PUBLISH_SECONDS ?? Math.max(600, minPublish);
  if (publishSeconds < minPublish) {
    throw new ConfigError([
      `SIGNING_KEY_PUBLISH_SECONDS: must be at least JWKS_MAX_AGE_SECONDS + SIGNING_KEY_POLL_SECONDS + ${SIGNING_KEY_SKEW_MARGIN_SECONDS} (${minPublish})`,
    ]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    issuer: e.ISSUER ?? `http://localhost:${e.PORT}`,
    adminPort: e.ADMIN_PORT,
    adminHost: e.ADMIN_HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    databaseQueryTimeoutSeconds: e.DATABASE_QUERY_TIMEOUT_SECONDS,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    dataDir: e.GATEHOUSE_DATA_DIR,
    keysDir: e.GATEHOUSE_KEYS_DIR,
    kek: e.GATEHOUSE_KEK,
    adminKey: e.GATEHOUSE_ADMIN_KEY,
    passwordPepper: e.GATEHOUSE_PASSWORD_PEPPER,
    registrationEnabled: e.GATEHOUSE_REGISTRATION ?? e.DATABASE_URL === undefined,
    allowHttpLocalhostRedirects: e.ALLOW_HTTP_LOCALHOST_REDIRECTS ?? e.DATABASE_URL === undefined,
    passwordPolicy: { minLength: e.PASSWORD_MIN_LENGTH, maxLength: e.PASSWORD_MAX_LENGTH },
    signInAttemptsPerMinute: e.SIGN_IN_ATTEMPTS_PER_MINUTE,
    accountLockoutThreshold: e.ACCOUNT_LOCKOUT_THRESHOLD,
    mail: {
      smtpUrl: e.SMTP_URL,
      smtpUser: e.SMTP_USER,
      smtpPassword: e.SMTP_PASSWORD,
      from: e.MAIL_FROM ?? `Gatehouse <no-reply@${new URL(e.ISSUER ?? `http://localhost:${e.PORT}`).hostname}>`,
    },
    emailVerification: e.EMAIL_VERIFICATION,
    emailSignIn: { code: e.EMAIL_SIGN_IN, link: e.EMAIL_SIGN_IN_LINK },
    notifyNewDevice: e.NOTIFY_NEW_DEVICE,
    mfaRequired: e.MFA_REQUIRED,
    webauthn: {
      rpId: e.WEBAUTHN_RP_ID ?? new URL(e.ISSUER ?? `http://localhost:${e.PORT}`).hostname,
      origins: [
        ...new Set([
          new URL(e.ISSUER ?? `http://localhost:${e.PORT}`).origin,
          ...e.WEBAUTHN_ORIGINS.map((o) => new URL(o).origin),
        ]),
      ],
    },
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_ITERATIONS, parallelism: e.ARGON2_PARALLELISM },
    ttl: {
      accessTokenSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      adminAccessTokenSeconds: e.ADMIN_ACCESS_TOKEN_TTL_SECONDS,
      authorizationCodeSeconds: e.AUTHORIZATION_CODE_TTL_SECONDS,
      idTokenSeconds: e.ID_TOKEN_TTL_SECONDS,
      refreshTokenSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      refreshTokenAbsoluteSeconds: e.REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS,
      sessionSeconds: e.SESSION_TTL_SECONDS,
      sessionIdleSeconds: e.SESSION_IDLE_TTL_SECONDS,
      interactionSeconds: e.INTERACTION_TTL_SECONDS,
      grantSeconds: e.GRANT_TTL_SECONDS,
    },
    defaultSigningAlg: e.DEFAULT_SIGNING_ALG,
    logLevel: e.LOG_LEVEL,
    trustedProxies: e.TRUSTED_PROXIES.length || !e.TRUST_PROXY ? e.TRUSTED_PROXIES : [...LOOPBACK_AND_PRIVATE_NETWORKS],
    deprecatedTrustProxy: e.TRUST_PROXY,
    discoveryMaxAgeSeconds: e.DISCOVERY_MAX_AGE_SECONDS,
    logFormat: e.LOG_FORMAT,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    shutdownDelaySeconds: e.SHUTDOWN_DELAY_SECONDS,
    auditFlushIntervalMs: e.AUDIT_FLUSH_INTERVAL_MS,
    auditLogEnabled: e.AUDIT_LOG_ENABLED,
    dpopRequireNonce: e.DPOP_REQUIRE_NONCE,
    logoutSkipConfirmationWithHint: e.LOGOUT_SKIP_CONFIRMATION_WITH_HINT,
    faultInjection: e.GATEHOUSE_FAULT_INJECTION,
    signingKeys: {
      jwksMaxAgeSeconds: e.JWKS_MAX_AGE_SECONDS,
      minPublishSeconds: minPublish,
      pollSeconds: e.SIGNING_KEY_POLL_SECONDS,
      publishSeconds,
      retireGraceSeconds: e.SIGNING_KEY_RETIRE_GRACE_SECONDS,
      rotationIntervalSeconds: e.SIGNING_KEY_ROTATION_INTERVAL_SECONDS,
    },
  };
}

/** EX_CONFIG from sysexits.h: the exit code for a configuration error. */
export const EXIT_CONFIG = 78;

/**
 * Reads `.env` from the working directory into `env` (entry points only). Variables already set
 * win: the real environment overrides the file, as with Node's --env-file. No file, no change.
 */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env, file = '.env'): void {
  if (!fs.existsSync(file)) return;
  if (env === process.env) {
    process.loadEnvFile(file);
    return;
  }
  for (const [k, v] of Object.entries(parseEnv(fs.readFileSync(file, 'utf8')))) if (env[k] === undefined) env[k] = v;
}

/** For entry points: `.env` read, then the validated configuration, or exit 78 with the problems on stderr. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    loadDotEnv(env);
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}
