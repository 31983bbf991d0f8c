import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for one Gatehouse instance. Each instance owns its Registry (never the
 * global default one), so several instances in one process — tests, blue/green — do not clash.
 *
 * Label values are always from closed sets (route *names* or router *patterns*, status codes,
 * grant types the provider accepted, failure reasons, kids): never a raw URL, id or token.
 */

export type MetricsPort = 'public' | 'admin';

/** Read on scrape only; nothing here runs on the request path. */
export interface MetricSources {
  /** The signing keys in use: their age is exported per kid. */
  signingKeys?: () => readonly { kid: string; alg: string; createdAt: Date }[];
  /** The SQL connection pool's counts; undefined when the pool is not available. */
  dbPool?: () => { used: number; free: number; pending: number } | undefined;
  /** Whether the Redis connection is ready; omit when Redis is not configured. */
  redisReady?: () => boolean;
}

/**
 * Request latency buckets (seconds): token and interaction requests are a few ms to a few
 * hundred ms (argon2 hashing dominates a login); anything past 5 s is an incident.
 */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Node's HTTP parser accepts ~35 methods; the ones we serve get their own label, the rest share one. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The `reason` label of gatehouse_login_failures_total. An unknown email, a wrong password and an
 * account without a password all count as `invalid_credentials`: /metrics is read by more people
 * than the audit log, and separate series would tell a watcher which guesses hit a real account
 * (the page gives one message for all of them). The precise reason stays in the audit log.
 * `disabled` is only reached after a correct password, and `rate_limited` before any check.
 */
const LOGIN_FAILURE_LABELS: Record<string, string> = {
  unknown_email: 'invalid_credentials',
  wrong_password: 'invalid_credentials',
  no_password: 'invalid_credentials',
  input_too_long: 'invalid_credentials',
};

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'port' | 'method' | 'route' | 'status'>;
  readonly #latency: Histogram<'port' | 'method' | 'route' | 'status'>;
  readonly #tokensIssued: Counter<'grant_type'>;
  readonly #refreshReuse: Counter;
  readonly #loginFailures: Counter<'reason'>;

  constructor(sources: MetricSources = {}) {
    const registers = [this.registry];
    // Process CPU, memory, handles, GC and event-loop lag (nodejs_eventloop_lag_* uses
    // perf_hooks.monitorEventLoopDelay); collected on scrape.
    collectDefaultMetrics({ register: this.registry });

    this.#requests = new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests answered, by port, method, route (name or pattern) and status.',
      labelNames: ['port', 'method', 'route', 'status'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time to handle an HTTP request, by port, method, route and status.',
      labelNames: ['port', 'method', 'route', 'status'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.#tokensIssued = new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Successful token endpoint responses, by grant type.',
      labelNames: ['grant_type'],
      registers,
    });
    this.#refreshReuse = new Counter({
      name: 'gatehouse_refresh_token_reuse_total',
      help: 'Refresh tokens presented after they were rotated (the grant is revoked).',
      registers,
    });
    this.#loginFailures = new Counter({
      name: 'gatehouse_login_failures_total',
      help: 'Failed password sign-ins, by reason.',
      labelNames: ['reason'],
      registers,
    });

    if (sources.signingKeys) {
      const signingKeys = sources.signingKeys;
      new Gauge({
        name: 'gatehouse_signing_key_age_seconds',
        help: 'Age of each signing key in use, by kid and alg.',
        labelNames: ['kid', 'alg'],
        registers,
        collect() {
          this.reset();
          const now = Date.now();
          for (const key of signingKeys())
            this.set({ kid: key.kid, alg: key.alg }, Math.max(0, (now - key.createdAt.getTime()) / 1000));
        },
      });
    }
    if (sources.dbPool) {
      const dbPool = sources.dbPool;
      new Gauge({
        name: 'gatehouse_db_pool_connections',
        help: 'SQL pool connections: used, free, and pending acquisitions (PGlite: sessions of its worker thread).',
        labelNames: ['state'],
        registers,
        collect() {
          const pool = dbPool();
          if (!pool) return;
          this.set({ state: 'used' }, pool.used);
          this.set({ state: 'free' }, pool.free);
          this.set({ state: 'pending' }, pool.pending);
        },
      });
    }
    if (sources.redisReady) {
      const redisReady = sources.redisReady;
      new Gauge({
        name: 'gatehouse_redis_up',
        help: '1 when the Redis connection is ready, else 0.',
        registers,
        collect() {
          this.set(redisReady() ? 1 : 0);
        },
      });
    }
  }

  /** One counter increment and one histogram observation: the whole per-request cost. */
  observeRequest(port: MetricsPort, method: string, route: string, status: number, seconds: number): void {
    const labels = { port, method: KNOWN_METHODS.has(method) ? method : 'OTHER', route, status: String(status) };
    this.#requests.inc(labels);
    this.#latency.observe(labels, seconds);
  }

  tokenIssued(grantType: string): void {
    this.#tokensIssued.inc({ grant_type: grantType });
  }

  refreshTokenReused(): void {
    this.#refreshReuse.inc();
  }

  /** Counts a failed sign-in under its public label (see LOGIN_FAILURE_LABELS). */
  loginFailed(reason: string): void {
    this.#loginFailures.inc({ reason: LOGIN_FAILURE_LABELS[reason] ?? reason });
  }

  /** The exposition: body and its Content-Type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
