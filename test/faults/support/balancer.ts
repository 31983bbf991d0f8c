import http from 'node:http';

/**
 * A round-robin HTTP load balancer without stickiness: request N+1 goes to the other instance.
 * Like haproxy's `retry-on conn-failure`, a request whose connection is refused (the instance
 * is down or draining) is sent to the next instance; nothing else is retried. One upstream
 * connection per request, so a backend's keep-alive shutdown never races a reused socket.
 */
export class Balancer {
  private server?: http.Server;
  private turn = 0;
  port = 0;
  /** Requests answered per backend port (to check that both instances served). */
  readonly served = new Map<number, number>();
  /** Requests the balancer could not deliver to any backend. */
  unroutable = 0;

  constructor(private readonly backends: () => number[]) {}

  async start(port = 0): Promise<number> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.attempt(req, res, Buffer.concat(chunks), 0));
  }

  private attempt(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, tries: number): void {
    const ports = this.backends();
    const port = ports[this.turn++ % ports.length]!;
    const headers = { ...req.headers, connection: 'close', 'content-length': String(body.length) };
    const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: false }, (up) => {
      this.served.set(port, (this.served.get(port) ?? 0) + 1);
      const passed: string[] = [];
      for (let i = 0; i < up.rawHeaders.length; i += 2) {
        if (!/^(connection|keep-alive)$/i.test(up.rawHeaders[i]!)) passed.push(up.rawHeaders[i]!, up.rawHeaders[i + 1]!);
      }
      res.writeHead(up.statusCode ?? 502, passed as unknown as http.OutgoingHttpHeaders);
      up.pipe(res);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' && tries < ports.length * 2) {
        setTimeout(() => this.attempt(req, res, body, tries + 1), tries >= ports.length ? 100 : 0);
        return;
      }
      if (!res.headersSent) {
        this.unroutable++;
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad_gateway', error_description: err.code ?? err.message }));
      } else {
        res.destroy();
      }
    });
    upstream.end(body);
  }
}
