import autocannon, { type AutocannonClient, type AutocannonOptions, type AutocannonResult } from 'autocannon';
import { cpuSeconds } from './child-server.js';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  /** Requests per second over all connections (autocannon `overallRate`); unset: as fast as possible. */
  overallRate?: number;
  /**
   * With `overallRate`: space each connection's requests evenly (random phase per connection)
   * instead of autocannon's once-a-second refill, which sends every connection's whole quota
   * back to back at each second boundary — peak load for part of every second.
   */
  paced?: boolean;
  /** Per-connection set-up (dynamic requests, e.g. a refresh-token chain). */
  setupClient?: (client: AutocannonClient) => void;
}

/** The autocannon 9 client internals that rate limiting uses (lib/httpClient.js). */
interface RateLimitedClient {
  rate?: number;
  rateInterval?: NodeJS.Timeout;
  reqsMadeThisSecond: number;
  paused?: boolean;
  destroyed: boolean;
  _doRequest(): void;
}

/**
 * Replaces a client's 1 s quota refill by one request allowance every 1000/rate ms. Runs after
 * the client's constructor has created its own interval (set-up runs inside the constructor).
 */
function paceEvenly(client: AutocannonClient): void {
  setImmediate(() => {
    const c = client as unknown as RateLimitedClient;
    if (!c.rate || !c.rateInterval || c.destroyed) return;
    clearInterval(c.rateInterval);
    const periodMs = 1000 / c.rate;
    const allowOne = () => {
      if (c.destroyed) return;
      c.reqsMadeThisSecond = c.rate! - 1;
      if (c.paused) {
        c.paused = false;
        c._doRequest();
      }
    };
    c.reqsMadeThisSecond = c.rate;
    // destroy() clears `rateInterval`, so it always holds the live timer.
    c.rateInterval = setTimeout(() => {
      allowOne();
      if (!c.destroyed) c.rateInterval = setInterval(allowOne, periodMs);
    }, Math.random() * periodMs);
  });
}

export interface LoadResult {
  /** Successful (2xx) responses per second. */
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  errors: number;
  seconds: number;
  /** Status codes other than 2xx, with counts (for the report's notes). */
  statuses: Record<string, number>;
  /** CPU cores the server process used on average (user + system time / wall time). */
  serverCores?: number;
}

/** Exact percentile (nearest rank) of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function runAutocannon(options: AutocannonOptions, onLatency: (ms: number) => void): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) onLatency(ms);
    });
  });
}

/**
 * One autocannon run. Latencies of 2xx responses are kept at full (sub-millisecond) precision
 * here rather than read from autocannon's integer-millisecond histogram.
 */
export async function measure(spec: LoadSpec, serverPid?: number): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  const record = (ms: number) => {
    if (n === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[n++] = ms;
  };
  const cpuBefore = serverPid ? cpuSeconds(serverPid) : undefined;
  const wallBefore = process.hrtime.bigint();
  const result = await runAutocannon(
    {
      url: spec.url,
      method: spec.method ?? 'GET',
      headers: spec.headers,
      body: spec.body,
      connections: spec.connections,
      duration: spec.seconds,
      pipelining: 1,
      timeout: 10,
      ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
      ...(spec.setupClient || spec.paced
        ? {
            setupClient: (client: AutocannonClient) => {
              spec.setupClient?.(client);
              if (spec.paced && spec.overallRate) paceEvenly(client);
            },
          }
        : {}),
    },
    record,
  );
  const wall = Number(process.hrtime.bigint() - wallBefore) / 1e9;
  const cpuAfter = serverPid ? cpuSeconds(serverPid) : undefined;

  const sorted = latencies.subarray(0, n).sort();
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    if (!code.startsWith('2')) statuses[code] = count;
  }
  return {
    rps: result['2xx'] / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ok: result['2xx'],
    failed: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    statuses,
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { serverCores: (cpuAfter - cpuBefore) / wall } : {}),
  };
}
