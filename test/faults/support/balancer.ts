import http from 'node:http';

/** How often each backend's /readyz is polled (haproxy: `option httpchk GET /readyz`, `inter`). */
const HEALTH_INTERVAL_MS = 250;

/**
 * A round-robin HTTP load balancer without stickiness: request N+1 goes to the other instance.
 * Like haproxy with `option httpchk GET /readyz` and `retry-on conn-failure`, it routes only to
 * backends whose last readiness check passed (all of them when none did), and a request whose
 * connection is refused goes to another backend; nothing else is retried. One upstream
 * connection per request, so a backend's keep-alive shutdown never races a reused socket.
 */
export class Balancer {
  private server?: http.Server;
  private timer?: NodeJS.Timeout;
  private turn = 0;
  private readonly healthy = new Map<number, boolean>();
  port = 0;
  /** Requests answered per backend port (to check that both instances served). */
  readonly served = new Map<number, number>();

  constructor(private readonly backends: () => number[]) {}

  async start(port = 0): Promise<number> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    const check = () => {
      for (const p of this.backends()) {
        const req = http.get({ host: '127.0.0.1', port: p, path: '/readyz', agent: false, timeout: 1000 }, (res) => {
          res.resume();
          this.healthy.set(p, res.statusCode === 200);
        });
        req.on('error', () => this.healthy.set(p, false));
        req.on('timeout', () => req.destroy());
      }
      this.timer = setTimeout(check, HEALTH_INTERVAL_MS);
      this.timer.unref();
    };
    check();
    return this.port;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.attempt(req, res, Buffer.concat(chunks), new Set()));
  }

  private pick(tried: Set<number>): number | undefined {
    const all = this.backends();
    const up = all.filter((p) => this.healthy.get(p) !== false);
    const pool = (up.length ? up : all).filter((p) => !tried.has(p));
    if (!pool.length) return undefined;
    return pool[this.turn++ % pool.length];
  }

  private attempt(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    tried: Set<number>,
    round = 0,
  ): void {
    const port = this.pick(tried);
    if (port === undefined) {
      // Every backend refused: wait a little and go round again (a restart in progress), then give up.
      if (round < 20) {
        setTimeout(() => this.attempt(req, res, body, new Set(), round + 1), 100);
        return;
      }
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'no_backend', error_description: 'no instance accepted the connection' }));
      return;
    }
    // haproxy `option forwardfor`: the client's address appended to X-Forwarded-For.
    const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const forwarded = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
    const headers = {
      ...req.headers,
      connection: 'close',
      'content-length': String(body.length),
      'x-forwarded-for': forwarded,
    };
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: false },
      (up) => {
        this.served.set(port, (this.served.get(port) ?? 0) + 1);
        const passed: string[] = [];
        for (let i = 0; i < up.rawHeaders.length; i += 2) {
          if (!/^(connection|keep-alive)$/i.test(up.rawHeaders[i]!))
            passed.push(up.rawHeaders[i]!, up.rawHeaders[i + 1]!);
        }
        res.writeHead(up.statusCode ?? 502, passed as unknown as http.OutgoingHttpHeaders);
        up.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        this.healthy.set(port, false);
        tried.add(port);
        this.attempt(req, res, body, tried, round);
        return;
      }
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad_gateway' }));
      } else {
        res.destroy();
      }
    });
    upstream.end(body);
  }
}
