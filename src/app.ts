import { PasswordResets } from './domain/accounts/password-resets.js';
import { Registrations } from './domain/accounts/registrations.js';
import type { Server } from 'node:http';
import http from 'node:http';
import type Provider from 'oidc-provider';
import type { Config } from './config/config.js';
import { PasswordHasher } from './domain/accounts/password-hasher.js';
import { Users } from './domain/accounts/users.js';
import { serviceWords } from './domain/accounts/password-rules.js';
import { loadCommonPasswords } from './storage/common-passwords.js';
import { UserSessions } from './domain/accounts/user-sessions.js';
import { KnownDevices } from './domain/accounts/known-devices.js';
import { SqlKnownDeviceRepository } from './storage/repositories/known-devices-repository.js';
import { FederatedSignIn } from './domain/federation/federated-sign-in.js';
import { LazySamlServiceProvider } from './federation/lazy-saml-service-provider.js';
import { UpstreamClients } from './federation/upstream-clients.js';
import { signInDevices } from './http/public/interactions/device-cookie.js';
import { Clients } from './domain/clients/clients.js';
import { KeyEncryption } from './domain/keys/key-encryption.js';
import { SigningKeys } from './domain/keys/signing-keys.js';
import { SigningKeyWatcher } from './domain/keys/signing-key-watcher.js';
import { LiveProvider } from './oidc/live-provider.js';
import { accountSessions } from './oidc/account-session.js';
import { SignInThrottle } from './domain/authn/sign-in-throttle.js';
import { RedisAttemptCounter, SqlAttemptCounter } from './storage/attempt-counters.js';
import { redisKeyChangeChannel } from './storage/key-change-channel.js';
import { Resources } from './domain/resources/resources.js';
import { adminApiResource } from './domain/admin/admin-api-resource.js';
import { BufferedAuditLog, type AuditEventRepository } from './domain/audit/audit-log.js';
import { DisabledAuditLog } from './domain/audit/disabled-audit-log.js';
import { createAdminApp } from './http/admin/admin-app.js';
import { Connections } from './domain/federation/connections.js';
import { SqlConnectionRepository } from './storage/repositories/connections-repository.js';
import { CsrfTokens } from './http/public/interactions/csrf.js';
import { providerPages } from './http/public/pages.js';
import { createPublicHandler } from './http/public/public-app.js';
import { Views } from './http/views.js';
import { providerClientValidator } from './oidc/client-metadata-validator.js';
import { createProvider, ROUTES } from './oidc/provider.js';
import { createAdminTokenVerifier } from './oidc/admin-token-verifier.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { armFaultPoint } from './observability/fault-points.js';
import { Database } from './storage/database.js';
import { ClientMetadataCache } from './storage/client-metadata-cache.js';
import { readOrCreateSecretFile } from './storage/key-files.js';
import { createAdapterFactory } from './storage/oidc-adapters/adapter-factory.js';
import { sweepExpired } from './storage/oidc-adapters/sql-adapter.js';
import { RefreshRotations } from './storage/oidc-adapters/refresh-token-adapter.js';
import { TokenSealer } from './storage/oidc-adapters/token-sealer.js';
import { rekeyLegacyRedisIds } from './storage/oidc-adapters/redis-legacy-ids.js';
import {
  DurableFirstRevocationStorage,
  SqlTokenRequestStorage,
} from './storage/oidc-adapters/token-request-storage.js';
import { createRedis, type Redis } from './storage/redis.js';
import { ArtifactRevoker } from './storage/repositories/artifact-revoker.js';
import { SqlClientRepository } from './storage/repositories/clients-repository.js';
import { SqlKeyRepository } from './storage/repositories/keys-repository.js';
import { SqlResourceRepository } from './storage/repositories/resources-repository.js';
import { SqlRoleRepository } from './storage/repositories/roles-repository.js';
import { Authorization } from './domain/authorization/authorization.js';
import { SqlUserRepository } from './storage/repositories/users-repository.js';
import { SqlAuditEventRepository } from './storage/repositories/audit-events-repository.js';
import { SqlUserSessionRepository } from './storage/repositories/user-sessions-repository.js';
import { IssuedJwtRecords } from './storage/repositories/issued-jwt-records.js';
import { SqlRememberedGrants } from './storage/repositories/remembered-grants-repository.js';
import { SqlCredentialRepository } from './storage/repositories/credentials-repository.js';
import { RedisOneTimeValues, SqlOneTimeValues } from './storage/one-time-values.js';
import { Factors } from './domain/authn/factors.js';
import { LinkedIdentities } from './domain/federation/linked-identities.js';
import { SqlFederatedIdentityRepository } from './storage/repositories/federated-identities-repository.js';
import { SecondFactorLimiter, SECOND_FACTOR_WINDOW_SECONDS } from './domain/authn/second-factor-limiter.js';
import { PasswordStrategy } from './domain/authn/strategies/password-strategy.js';
import { EmailSignIn } from './domain/authn/email-sign-in/email-sign-in.js';
import { EmailCodeStrategy } from './domain/authn/email-sign-in/email-code-strategy.js';
import { SignInCodeHasher } from './domain/authn/email-sign-in/sign-in-codes.js';
import { TotpStrategy } from './domain/authn/totp/totp-strategy.js';
import { TotpEnrolment } from './domain/authn/totp/totp-enrolment.js';
import { RecoveryCodes } from './domain/authn/recovery-codes/recovery-codes.js';
import { RecoveryCodeStrategy } from './domain/authn/recovery-codes/recovery-code-strategy.js';
import { PasskeyEnrolment } from './domain/authn/passkeys/passkey-enrolment.js';
import { PasskeyStrategy } from './domain/authn/passkeys/passkey-strategy.js';
import { DomainEvents } from './domain/events/domain-events.js';
import { Mailer } from './domain/mail/mail.js';
import { EmailTokens } from './domain/mail/email-tokens.js';
import { EMAIL_TEMPLATES, ViewsEmailComposer } from './mail/email-composer.js';
import { SqlOutboxRepository } from './storage/repositories/outbox-repository.js';
import { OutboxWorker, type OutboxWorkerOptions } from './mail/outbox-worker.js';
import { createSmtpTransport } from './mail/smtp-transport.js';
import { redisSendLimiter, sqlSendLimiter, sweepRateLimits } from './storage/send-limits.js';
import { AccountLockout } from './domain/authn/account-lockout.js';
import { SqlAccountLockoutRepository } from './storage/repositories/account-lockouts-repository.js';
import { auditSubscriber, logSubscriber, metricsSubscriber } from './domain/events/domain-event-subscribers.js';

/** How long another instance may serve a client's previous metadata after an admin change. */
const CLIENT_CACHE_TTL_MS = 5_000;

/** How often expired short-lived rows are deleted when they live in SQL. */
const SWEEP_INTERVAL_MS = 60_000;

/** Failed-password counts untouched this long are forgotten (hard locks stay until a reset or an unlock). */
const LOCKOUT_ROW_MAX_AGE_SECONDS = 30 * 24 * 3600;

export interface Gatehouse {
  publicServer: Server;
  adminServer: Server;
  /** Start listening on both ports. */
  listen(): Promise<{ publicPort: number; adminPort: number }>;
  /** Stop accepting, drain in-flight requests (bounded), close pools. */
  close(): Promise<void>;
  database: Database;
  redis?: Redis;
  /** The kids published right now. */
  readonly kids: string[];
  /** Writes email to the outbox (what flows use; harnesses and tests queue mail through it). */
  mailer: Mailer;
}

/** Parts a harness may put in place of the stock ones (the bench; nothing in production sets them). */
export interface GatehouseParts {
  /** Where audit batches go; by default the `audit_events` table of `database`. */
  auditRepository?: (database: Database) => AuditEventRepository;
  /**
   * The clock (epoch ms) of the account page's recent sign-in rule, the email sign-in code's
   * lifetime and the per-account password limits (waits, locks); tests move it. @default Date.now
   */
  now?: () => number;
  /** The outbox worker's poll interval, backoff, clock and random source (tests shorten them). */
  outboxWorker?: Partial<OutboxWorkerOptions>;
}

/** Without SMTP_URL a queued email is not sent: the log line says where to read it. */
const MAIL_KEPT_MESSAGE =
  'mail.queued: email kept in the outbox, not sent (SMTP_URL is not set); read it on the admin port: GET /admin/outbox?to=<address>';
/** The product's name as people see it: in emails, and a word no password may contain. */
const PRODUCT_NAME = 'Gatehouse';

/** The one composition root: storage → domain → provider → both HTTP servers. */
export async function createGatehouse(config: Config, logger: Logger, parts: GatehouseParts = {}): Promise<Gatehouse> {
  if (config.faultInjection) {
    armFaultPoint(config.faultInjection);
    logger.warn(
      { faultInjection: config.faultInjection },
      'TEST-ONLY fault injection armed: this process will kill itself',
    );
  }
  if (config.deprecatedTrustProxy) {
    logger.warn(
      { trustedProxies: config.trustedProxies },
      'TRUST_PROXY is deprecated: set TRUSTED_PROXIES to the addresses of your proxies',
    );
  }
  // The password list is read while the database opens and migrates; awaited where Users is built.
  const commonPasswordsLoad = loadCommonPasswords();
  commonPasswordsLoad.catch(() => {}); // a failure is thrown by the await below, stopping start-up
  const database = await Database.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    queryTimeoutMs: config.databaseQueryTimeoutSeconds * 1000,
    embeddedEvents: {
      onFailure: (err, restarting) =>
        restarting
          ? logger.error(
              { err, event: 'database.embedded_restarting' },
              'embedded database (PGlite) thread ended: statements in flight failed; opening it again',
            )
          : logger.error(
              { err, event: 'database.embedded_stopped' },
              'embedded database (PGlite) stopped: every statement now fails; restart Gatehouse',
            ),
      onRestarted: () => logger.warn({ event: 'database.embedded_restarted' }, 'embedded database (PGlite) open again'),
    },
  });
  let redis: Redis | undefined;
  let audit: BufferedAuditLog | DisabledAuditLog | undefined;
  try {
    const applied = await database.migrate();
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
    redis = config.redisUrl ? createRedis(config.redisUrl) : undefined;
    redis?.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis error'));

    const kekValue =
      config.kek ??
      (() => {
        const kek = readOrCreateSecretFile(config.keysDir, 'kek', 32);
        if (kek.created)
          logger.warn(
            { file: kek.file },
            'generated a key-encryption key; back it up, and share it (or GATEHOUSE_KEK) with every instance',
          );
        return kek.value;
      })();
    const kek = new KeyEncryption(Buffer.from(kekValue, 'base64url'));
    const keyRepository = new SqlKeyRepository(database);
    const signingKeys = new SigningKeys(keyRepository, kek, {
      publishSeconds: config.signingKeys.publishSeconds,
      minPublishSeconds: config.signingKeys.minPublishSeconds,
      retireGraceSeconds: config.signingKeys.retireGraceSeconds,
      // Anything a key signs: ID tokens, JWT access tokens (deployment, admin, per-API and per-client lifetimes).
      longestSignedTokenSeconds: async () =>
        Math.max(
          config.ttl.idTokenSeconds,
          config.ttl.accessTokenSeconds,
          config.ttl.adminAccessTokenSeconds,
          await keyRepository.longestConfiguredAccessTokenTtl(),
        ),
    });
    const keys = await signingKeys.load();

    const adminKey =
      config.adminKey ??
      (() => {
        const file = readOrCreateSecretFile(config.keysDir, 'admin-key', 32);
        logger.info({ file: file.file }, file.created ? 'generated the admin API key' : 'admin API key read from file');
        return file.value;
      })();

    /** Set on shutdown: /readyz answers 503 while requests are still served (SHUTDOWN_DELAY_SECONDS). */
    let draining = false;
    const clientCache = new ClientMetadataCache(CLIENT_CACHE_TTL_MS);
    const sealer = new TokenSealer(Buffer.from(kekValue, 'base64url'));
    const rotations = new RefreshRotations(database, sealer);
    if (redis) {
      const rekeyed = await rekeyLegacyRedisIds(redis, config.redisKeyPrefix, sealer);
      if (rekeyed)
        logger.info({ rekeyed }, 'Redis artifacts of an earlier version re-keyed by the hash of their value');
    }
    const adapterFor = createAdapterFactory({
      database,
      redis,
      redisPrefix: config.redisKeyPrefix,
      clientCache,
      sealer,
      rotations,
    });
    const revoker = new ArtifactRevoker(database, adapterFor);
    const tokenRequests = new SqlTokenRequestStorage(database, rotations);
    const revocations = new DurableFirstRevocationStorage(database);
    const hasher = new PasswordHasher(config.argon2, config.passwordPepper);
    const commonPasswords = await commonPasswordsLoad;
    logger.info({ entries: commonPasswords.size }, 'common password list loaded');
    const passwordPolicy = {
      ...config.passwordPolicy,
      serviceWords: serviceWords(PRODUCT_NAME, config.issuer),
      commonPasswords,
    };
    const users = new Users(new SqlUserRepository(database), hasher, passwordPolicy, revoker);
    // Resource servers named by an API must be registered clients (`clients` is built below).
    const clientExists = (clientId: string): Promise<boolean> =>
      clients.get(clientId).then(
        () => true,
        (err: unknown) => {
          if ((err as { code?: string }).code === 'not_found') return false;
          throw err;
        },
      );
    const resources = new Resources(
      new SqlResourceRepository(database),
      [adminApiResource(config.ttl.adminAccessTokenSeconds)],
      clientExists,
    );
    // Validation reads the API fresh (not the token path's cache): a scope just added is assignable at once.
    const authorization = new Authorization(new SqlRoleRepository(database), async (indicator) => {
      try {
        return (await resources.get(indicator)).scopes.map((s) => s.name);
      } catch (err) {
        if ((err as { code?: string }).code === 'not_found') return undefined;
        throw err;
      }
    });
    const views = new Views();
    audit = config.auditLogEnabled
      ? new BufferedAuditLog(parts.auditRepository?.(database) ?? new SqlAuditEventRepository(database), logger, {
          flushIntervalMs: config.auditFlushIntervalMs,
        })
      : new DisabledAuditLog();

    const metrics: Metrics = new Metrics({
      signingKeys: () => providers.keys.signingKeys,
      dbPool: () => database.poolStats(),
      ...(redis ? { redisReady: () => redis!.status === 'ready' } : {}),
    });
    // Disabled: the provider's protocol hooks are not installed at all, so the token endpoint
    // pays nothing for the audit log (bench: "audit log on ÷ off").
    const pages = providerPages(views);
    const providerAudit = config.auditLogEnabled ? audit : undefined;
    const rememberedGrants = new SqlRememberedGrants(database);
    // Rebuilt when the signing keys change (rotation, revocation, a scheduled transition).
    const providers: LiveProvider = new LiveProvider(
      (loaded): Provider =>
        createProvider({
          config,
          keys: loaded,
          adapterFor,
          users,
          resources,
          pages,
          logger,
          metrics,
          authorization,
          audit: providerAudit,
          tokenRequests,
          revocations,
          revokeGrant: (grantId) => revoker.revokeGrant(grantId),
          rememberedGrants,
        }),
      keys,
    );
    const keyWatcher = new SigningKeyWatcher({
      loadIfChanged: (serving) => signingKeys.loadIfChanged(serving),
      apply: (loaded) => providers.replace(loaded),
      serving: () => providers.keys.fingerprint,
      pollSeconds: config.signingKeys.pollSeconds,
      ...(redis ? { channel: redisKeyChangeChannel(redis, config.redisKeyPrefix) } : {}),
      ...(config.signingKeys.rotationIntervalSeconds > 0
        ? { beforeTick: () => signingKeys.rotateIfDue(config.signingKeys.rotationIntervalSeconds) }
        : {}),
      onError: (err) =>
        logger.warn(
          { err: { message: (err as Error).message } },
          'signing key refresh failed; serving the previous key set',
        ),
      onApplied: (loaded, before) =>
        logger.info({ keys: loaded.fingerprint, before }, 'signing keys changed; provider rebuilt'),
    });
    const clients: Clients = new Clients(
      new SqlClientRepository(database, clientCache),
      providerClientValidator(providers),
      revoker,
      {
        allowHttpLocalhostRedirects: config.allowHttpLocalhostRedirects,
        declaredScopes: () => resources.declaredScopes({ fresh: true }),
      },
    );

    const events = new DomainEvents((err, event) =>
      logger.error({ err, event: event.type }, 'a domain event subscriber failed'),
    )
      .subscribe(auditSubscriber(audit))
      .subscribe(logSubscriber(logger, config.mail.smtpUrl ? {} : { 'mail.queued': MAIL_KEPT_MESSAGE }))
      .subscribe(metricsSubscriber(metrics));
    const credentials = new SqlCredentialRepository(database);
    const oneTimeValues = redis ? new RedisOneTimeValues(redis, config.redisKeyPrefix) : new SqlOneTimeValues(database);
    const factors = new Factors(credentials);
    const recoveryCodes = new RecoveryCodes(credentials, Buffer.from(kekValue, 'base64url'));
    const attemptCounter = redis
      ? new RedisAttemptCounter(redis, config.redisKeyPrefix)
      : new SqlAttemptCounter(database);
    // "Remove access" also drops the grant's remembered pointer (others are dropped when next followed).
    const userSessions = new UserSessions(users, new SqlUserSessionRepository(database), {
      revokeGrant: async (grantId) => {
        await revoker.revokeGrant(grantId);
        await rememberedGrants.forgetGrant(grantId);
      },
    });
    // Email: written to the durable outbox, sent by the outbox worker when SMTP_URL is set.
    const outbox = new SqlOutboxRepository(database);
    const mailer = new Mailer(
      outbox,
      new ViewsEmailComposer(EMAIL_TEMPLATES),
      { productName: PRODUCT_NAME, issuer: config.issuer },
      events,
    );
    // Only with SMTP_URL; without it mail stays queued and is read at GET /admin/outbox.
    const outboxWorker = config.mail.smtpUrl
      ? new OutboxWorker(outbox, createSmtpTransport(config.mail), events, logger, parts.outboxWorker)
      : undefined;
    // A send queued here is picked up at once; other instances' sends wait for the next poll.
    if (outboxWorker)
      events.subscribe((event) => {
        if (event.type === 'mail.queued') outboxWorker.wake();
      });
    // Links in emails live up to a day: always in SQL, which survives a Redis restart.
    const emailTokens = new EmailTokens(new SqlOneTimeValues(database));
    const sendLimiter = redis ? redisSendLimiter(redis, config.redisKeyPrefix) : sqlSendLimiter(database);
    // Per-account password limits: durable SQL on both backends, shared by every instance.
    const lockout = new AccountLockout(
      new SqlAccountLockoutRepository(database),
      { threshold: config.accountLockoutThreshold, now: parts.now },
      { mailer, events, accountEmail: async (id) => (await users.get(id)).email },
    );
    events.subscribe(
      lockout.resetSubscriber((err) =>
        logger.error({ err: { message: (err as Error).message } }, 'unlocking after a password reset failed'),
      ),
    );
    const emailSignIn = new EmailSignIn({
      store: oneTimeValues,
      attempts: attemptCounter,
      tokens: emailTokens,
      mailer,
      sendLimiter,
      events,
      users: new SqlUserRepository(database),
      // Under the key-encryption key (stable across restarts and instances), with its own purpose label.
      hasher: new SignInCodeHasher(Buffer.from(kekValue, 'base64url')),
      offer: config.emailSignIn,
      clock: parts.now,
    });
    const emailSignInOn = config.emailSignIn.code || config.emailSignIn.link;
    const registrations = new Registrations(users, emailTokens, mailer, sendLimiter, events, config.emailVerification);
    const passwordResets = new PasswordResets(users, emailTokens, mailer, sendLimiter, events);
    // New-device notices: known browsers per account in SQL, shared by every instance.
    const knownDevices = new KnownDevices({
      repo: new SqlKnownDeviceRepository(database),
      users,
      mailer,
      events,
      notify: config.notifyNewDevice,
    });
    // Upstream identity providers (/admin/connections) and the identities linked through them.
    const connectionRepository = new SqlConnectionRepository(database);
    // SAML connections: Gatehouse as SP (samlify + xmllint schema validation, loaded on first use); IdP metadata URLs refreshed daily.
    const saml = new LazySamlServiceProvider({
      warn: (fields, message) => logger.warn({ event: 'saml.metadata_refresh_failed', ...fields }, message),
    });
    const connections = new Connections(connectionRepository, kek, {
      allowHttpLocalhost: config.allowHttpLocalhostRedirects,
      saml,
      issuer: config.issuer,
    });
    // Linked upstream identities (account page "Linked accounts", /admin/users/:id/identities).
    const linkedIdentities = new LinkedIdentities({
      identities: new SqlFederatedIdentityRepository(database),
      connections: connectionRepository,
      users,
      factors,
      emailSignIn: emailSignInOn,
      events,
    });
    // Sign-in through upstream OIDC / OAuth 2.0 (discovery cached for an hour per connection) and SAML connections.
    const federation = new FederatedSignIn({
      connections: connectionRepository,
      identities: new SqlFederatedIdentityRepository(database),
      users,
      kek,
      oneTimeValues,
      events,
      upstream: new UpstreamClients(3600),
      saml,
      issuer: config.issuer,
    });
    const publicHandler = createPublicHandler({
      linkedIdentities,
      federation,
      devices: signInDevices(knownDevices, config.issuer),
      registrations,
      passwordResets,
      mailer,
      emailTokens,
      sendLimiter,
      emailVerification: config.emailVerification,
      emailSignIn: config.emailSignIn,
      signInLinks: config.emailSignIn.link ? emailSignIn : undefined,
      providers,
      logger,
      views,
      users,
      metrics,
      events,
      factors,
      strategies: [
        new PasswordStrategy(users, lockout),
        new PasskeyStrategy(config.webauthn, credentials, oneTimeValues, users, events),
        new TotpStrategy(credentials, kek),
        new RecoveryCodeStrategy(recoveryCodes, events),
        ...(emailSignInOn ? [new EmailCodeStrategy(emailSignIn, users)] : []),
      ],
      enrolments: [
        // The authenticator app lists the code under the issuer's host: the name people sign in at.
        new TotpEnrolment(credentials, oneTimeValues, kek, { issuer: new URL(config.issuer).host }),
        new PasskeyEnrolment(config.webauthn, credentials, oneTimeValues),
      ],
      recoveryCodes,
      mfaRequired: config.mfaRequired,
      secondFactorLimiter: new SecondFactorLimiter(attemptCounter),
      resources,
      accountSessions: accountSessions(providers, config.issuer, config.ttl.sessionSeconds),
      userSessions,
      clientName: (clientId) =>
        clients.get(clientId).then(
          (c) => c.client_name,
          () => undefined,
        ),
      now: parts.now,
      jwksMaxAgeSeconds: config.signingKeys.jwksMaxAgeSeconds,
      jwksPath: ROUTES.jwks,
      csrf: new CsrfTokens(keys.cookieKeys[0]!),
      signInThrottle: new SignInThrottle(attemptCounter, config.signInAttemptsPerMinute),
      registrationEnabled: config.registrationEnabled,
      passwordMinLength: config.passwordPolicy.minLength,
      issuer: config.issuer,
      trustedProxies: config.trustedProxies,
      discoveryMaxAgeSeconds: config.discoveryMaxAgeSeconds,
      healthChecks: [
        // First, so a draining instance reports not-ready without waiting on the others.
        {
          name: 'accepting',
          check: async () => {
            if (draining) throw new Error('shutting down');
          },
        },
        { name: 'database', check: () => database.ping() },
        ...(redis
          ? [
              {
                name: 'redis',
                check: async () => {
                  await redis!.ping();
                },
              },
            ]
          : []),
        {
          name: 'keys',
          check: async () => {
            if (!providers.keys.jwks.keys.length) throw new Error('no signing keys');
          },
        },
      ],
    });
    const issuedJwts = new IssuedJwtRecords(adapterFor);
    const verifyAdminToken = createAdminTokenVerifier({
      issuer: config.issuer,
      publicJwks: () => providers.keys.publicJwks as never,
      isRecorded: (jti) => issuedJwts.isRecorded(jti),
      clientExists: async (clientId) =>
        clients.get(clientId).then(
          () => true,
          (err) => {
            if ((err as { code?: string }).code === 'not_found') return false;
            throw err;
          },
        ),
    });
    const adminApp = createAdminApp({
      adminKey,
      clients,
      users,
      resources,
      userSessions,
      authorization,
      verifyAdminToken,
      logger,
      metrics,
      audit,
      keys: { signingKeys, changed: () => keyWatcher.changed() },
      factors,
      events,
      outbox,
      lockout,
      linkedIdentities,
      connections: { connections, issuer: config.issuer },
    });
    await keyWatcher.start(keys.nextTransitionAt);

    const publicServer = http.createServer(publicHandler);
    const adminServer = http.createServer(adminApp.callback());
    // Keep-alive longer than typical load balancer idle timeouts avoids reset races.
    publicServer.keepAliveTimeout = 65_000;

    const sweeper = setInterval(() => {
      sweepExpired(database).catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'sweep failed'));
      SqlOneTimeValues.sweep(database, new Date()).catch((err) =>
        logger.warn({ err: { message: (err as Error).message } }, 'one-time value sweep failed'),
      );
      rememberedGrants
        .sweep(new Date())
        .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'remembered grant sweep failed'));
      lockout
        .sweep(LOCKOUT_ROW_MAX_AGE_SECONDS)
        .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'account lockout sweep failed'));
      if (!redis) {
        // Keeps the longest window in use (second factors: 15 min) plus a margin.
        SqlAttemptCounter.sweep(database, Math.floor(Date.now() / 1000) - SECOND_FACTOR_WINDOW_SECONDS - 120).catch(
          (err) => logger.warn({ err: { message: (err as Error).message } }, 'attempt counter sweep failed'),
        );
        sweepRateLimits(database).catch((err) =>
          logger.warn({ err: { message: (err as Error).message } }, 'send limit sweep failed'),
        );
      }
    }, SWEEP_INTERVAL_MS);
    sweeper.unref();

    const listenOn = (server: Server, port: number, host: string) =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as { port: number }).port);
        });
      });

    return {
      publicServer,
      adminServer,
      database,
      redis,
      mailer,
      get kids() {
        return providers.keys.kids;
      },
      async listen() {
        const publicPort = await listenOn(publicServer, config.port, config.host);
        const adminPort = await listenOn(adminServer, config.adminPort, config.adminHost);
        if (outboxWorker) {
          const smtp = new URL(config.mail.smtpUrl!);
          logger.info(
            { smtp: `${smtp.protocol}//${smtp.host}`, from: config.mail.from },
            'sending email from the outbox',
          );
          outboxWorker.start();
        } else logger.info('SMTP_URL is not set: email stays in the outbox, readable at GET /admin/outbox');
        return { publicPort, adminPort };
      },
      async close() {
        draining = true;
        if (config.shutdownDelaySeconds > 0 && publicServer.listening) {
          await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
        }
        clearInterval(sweeper);
        await keyWatcher.stop();
        const stop = (server: Server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
            server.closeIdleConnections();
          });
        const drained = Promise.all([stop(publicServer), stop(adminServer)]);
        const deadline = new Promise<void>((resolve) =>
          setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref(),
        );
        // The outbox worker finishes (or abandons to their lease) its sends while the database is open.
        await Promise.all([Promise.race([drained, deadline]), outboxWorker?.stop()]);
        publicServer.closeAllConnections();
        adminServer.closeAllConnections();
        // After the drain (in-flight requests may still record), before the database closes.
        await audit?.close();
        await redis?.quit().catch(() => undefined);
        await database.close();
      },
    };
  } catch (err) {
    await audit?.close();
    redis?.disconnect();
    await database.close().catch(() => undefined);
    throw err;
  }
}
