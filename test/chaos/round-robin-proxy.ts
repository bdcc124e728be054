import { type Server, type Socket, connect, createServer } from 'node:net';

/**
 * A small TCP load balancer on a loopback port: each new connection goes to the next target in
 * turn; a target that refuses the connection (its process is down) is skipped for the next one,
 * as a load balancer's health check would. Bytes are piped untouched.
 */
export class RoundRobinProxy {
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly targets: () => readonly number[],
  ) {}

  static async start(targets: () => readonly number[]): Promise<RoundRobinProxy> {
    let proxy: RoundRobinProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    proxy = new RoundRobinProxy(server, targets);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    const ports = this.targets();
    const tryTarget = (left: number) => {
      if (left === 0 || ports.length === 0) return client.destroy();
      const port = ports[this.next++ % ports.length]!;
      const upstream = connect(port, '127.0.0.1');
      this.track(upstream);
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryTarget(left - 1);
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryTarget(ports.length);
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
