import { type Server, createServer } from 'node:http';

/** An OTLP/HTTP endpoint on loopback that counts the spans it is sent and keeps nothing (the benches' --tracing). */
export async function otlpSink(): Promise<{ server: Server; url: string; spans(): number }> {
  let spans = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      spans += body.split('"spanId"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans: () => spans };
}
