/**
 * Standard-mode throughput against a loopback server, next to raw undici in the same run.
 *   node --conditions=@drover/source --import tsx bench/scraper-throughput.ts
 * Loopback only; bounded by REQUESTS per round and ROUNDS (a few seconds in all).
 * Prints requests/s for raw undici, scraper.fetch (guard + limits + redirects + cap + decode),
 * and scraper.scrape (the above plus classification and text extraction), with ratios.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadConfig } from '@drover/shared';
import { createScraper } from '@drover/scraper';
import { Agent } from 'undici';

const REQUESTS = 4000;
const CONCURRENCY = 16;
const ROUNDS = 7;

// The target runs in its own process (the machine has two cores), so the figures measure the
// client side rather than a server sharing its event loop.
const serverSource = `
const http = require('node:http');
const page = Buffer.from('<!doctype html><html><head><meta charset="utf-8"><title>Bench page</title></head><body>' + '<p>Lorem ipsum dolor sit amet, <a href="/x">link</a> consectetur adipiscing elit.</p>'.repeat(80) + '</body></html>');
const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(page.length) }).end(page));
server.keepAliveTimeout = 10000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + ' ' + page.length + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;
const child = spawn(process.execPath, ['-e', serverSource], { stdio: ['pipe', 'pipe', 'inherit'] });
const [port, pageBytes] = await new Promise<number[]>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(l.split(' ').map(Number))));
const url = `http://localhost:${port}/page`;

const config = loadConfig({
  DROVER_SCRAPER_ALLOW_HOSTS: `localhost:${port}`,
  // The limiter stays in the path, sized so it never makes the benchmark wait; a short window
  // keeps its in-memory log small.
  DROVER_SCRAPER_DOMAIN_RATE_PER_MIN: '100000000',
  DROVER_SCRAPER_RATE_WINDOW_MS: '1000',
});
const scraper = createScraper({ config: config.scraper });
const raw = new Agent({ keepAliveTimeout: 10_000 });

async function run(label: string, one: () => Promise<unknown>, count = REQUESTS): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) await one();
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const rps = count / secs;
  console.log(`  ${label.padEnd(16)} ${rps.toFixed(0).padStart(7)} req/s`);
  return rps;
}

// Raw undici sends the same request headers the scraper sends (User-Agent, Accept,
// Accept-Encoding), so the two differ only in what the scraper does around the request.
const sameHeaders = { 'user-agent': config.scraper.userAgent, accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br' };
const rawOne = async () => {
  const res = await raw.request({ origin: `http://localhost:${port}`, path: '/page', method: 'GET', headers: sameHeaders });
  await res.body.text();
};
const fetchOne = () => scraper.fetch(url);
const scrapeOne = () => scraper.scrape({ url, mode: 'standard', format: 'text' });
const SCRAPE_REQUESTS = Math.min(REQUESTS, 500);

// Warm-up: JIT and connection pools for all three.
for (const f of [rawOne, fetchOne, scrapeOne]) for (let i = 0; i < 300; i++) await f();

const results = { raw: [] as number[], fetch: [] as number[], scrape: [] as number[] };
/** Times raw and scraper.fetch in alternating slices of one round, so load drift hits both alike. */
async function paired(slices: number): Promise<{ raw: number; fetch: number }> {
  const per = Math.floor(REQUESTS / slices);
  const secs = { raw: 0, fetch: 0 };
  for (let i = 0; i < slices; i++) {
    for (const side of i % 2 === 0 ? (['raw', 'fetch'] as const) : (['fetch', 'raw'] as const)) {
      const one = side === 'raw' ? rawOne : fetchOne;
      let next = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next++ < per) await one();
        }),
      );
      secs[side] += Number(process.hrtime.bigint() - t0) / 1e9;
    }
  }
  return { raw: (per * slices) / secs.raw, fetch: (per * slices) / secs.fetch };
}

for (let r = 1; r <= ROUNDS; r++) {
  const p = await paired(10);
  results.raw.push(p.raw);
  results.fetch.push(p.fetch);
  console.log(`round ${r} (${REQUESTS} requests each, concurrency ${CONCURRENCY}, ${pageBytes}-byte page)`);
  console.log(`  ${'raw undici'.padEnd(16)} ${p.raw.toFixed(0).padStart(7)} req/s`);
  console.log(`  ${'scraper.fetch'.padEnd(16)} ${p.fetch.toFixed(0).padStart(7)} req/s`);
  results.scrape.push(await run('scraper.scrape', scrapeOne, SCRAPE_REQUESTS));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const m = { raw: median(results.raw), fetch: median(results.fetch), scrape: median(results.scrape) };
// Each round measures both sides back to back, so the per-round ratio cancels most of the
// machine's drift; its median is the figure to compare with the 0.9 target.
const ratios = results.fetch.map((f, i) => f / results.raw[i]!);
console.log(`median: raw undici ${m.raw.toFixed(0)} req/s, scraper.fetch ${m.fetch.toFixed(0)} req/s, scraper.scrape ${m.scrape.toFixed(0)} req/s`);
console.log(`per-round ratio scraper.fetch / raw undici: ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
console.log(`ratio scraper.fetch / raw undici = ${median(ratios).toFixed(2)} (median of per-round ratios; target >= 0.90)`);
console.log(`ratio scraper.scrape / raw undici = ${(m.scrape / m.raw).toFixed(3)} (adds HTML parsing, classification and text extraction)`);

await scraper.close();
await raw.close();
child.stdin!.end();
