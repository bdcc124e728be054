import type { AddressInfo } from 'node:net';
import { type Server, type Socket, connect, createServer } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort` that a test can cut (every connection
 * destroyed mid-stream, as a network failure would) and make refuse new connections for a while.
 * It keeps the first bytes of each connection, so a test can read the request heads it carried.
 */
export class TcpProxy {
  connections = 0;
  refusing = false;
  readonly heads: string[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  baseUrl = '';

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.connections++;
      if (this.refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => this.heads.push(chunk.toString('latin1')));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Destroys every open connection at once. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
