import net from 'node:net';

export type FaultMode = 'pass' | 'down' | 'blackhole';

/**
 * A TCP proxy in front of PostgreSQL or Redis that the scenarios drive: added latency per chunk,
 * `down` (every connection cut, new ones refused — a restart or crash), `blackhole` (connections
 * accepted and kept, nothing delivered — a network partition or a hung server).
 */
export class FaultProxy {
  private server?: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  mode: FaultMode = 'pass';
  latencyMs = 0;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    readonly name: string,
  ) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Open client connections right now (a leak shows as a count that does not come back down). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Cut every connection now; refuse new ones until `pass()`. */
  down(): void {
    this.mode = 'down';
    this.cutAll();
  }

  /** Keep connections open but deliver nothing, either way, until `pass()`. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  pass(): void {
    // Connections held during a black hole carry half-delivered protocol state: cut them.
    if (this.mode === 'blackhole') this.cutAll();
    this.mode = 'pass';
  }

  cutAll(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (this.mode === 'blackhole') return; // swallowed: the peer waits forever
      if (this.latencyMs > 0) {
        from.pause();
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
          from.resume();
        }, this.latencyMs);
      } else if (!to.destroyed) {
        to.write(chunk);
      }
    });
  }
}
