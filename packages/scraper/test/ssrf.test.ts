import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowList, classifyAddress, createScraper, type LookupFn, ScrapeErrorCodes, type Scraper, systemLookup, vetDestination } from '../src/index.js';
import { scraperConfig } from './fixtures/config.js';
import { html, TargetServer } from './fixtures/target-server.js';

// NETWORK RULE: nothing here connects anywhere but 127.0.0.1. Non-loopback refusals are checked
// on the classifier, on vetDestination, or with a lookup that answers private addresses — all of
// which must refuse before a socket exists.

describe('address classification', () => {
  const refused: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'ipv4Mapped'],
    ['::ffff:8.8.8.8', 'ipv4Mapped'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
  ];
  it.each(refused)('%s is %s and refused', (ip, range) => {
    const c = classifyAddress(ip);
    expect(c.range).toBe(range);
    expect(c.public).toBe(false);
  });
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('%s is public', (ip) => {
    expect(classifyAddress(ip).public).toBe(true);
  });
});

describe('vetDestination (no sockets)', () => {
  const policy = { guard: true, allowList: new AllowList([]), allowPorts: [80, 443] };
  const answering =
    (...addresses: string[]): LookupFn =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses a hostname that resolves to a private address', async () => {
    await expect(vetDestination('internal.example', 80, policy, answering('10.0.0.1'))).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
  });
  it('refuses a name with one public and one metadata answer (no racing the resolver)', async () => {
    await expect(vetDestination('mixed.example', 443, policy, answering('93.184.216.34', '169.254.169.254'))).rejects.toMatchObject({
      code: ScrapeErrorCodes.SSRF_REFUSED,
      details: { address: '169.254.169.254', range: 'linkLocal' },
    });
  });
  it('returns the vetted public address to dial', async () => {
    await expect(vetDestination('example.com', 443, policy, answering('93.184.216.34'))).resolves.toBe('93.184.216.34');
  });
  it('refuses ports outside the allowed list', async () => {
    await expect(vetDestination('example.com', 22, policy, answering('93.184.216.34'))).rejects.toMatchObject({ code: ScrapeErrorCodes.PORT_REFUSED });
  });
  it('lets a CIDR allow-list entry through', async () => {
    const p = { ...policy, allowList: new AllowList(['10.1.0.0/16']) };
    await expect(vetDestination('svc.internal', 80, p, answering('10.1.2.3'))).resolves.toBe('10.1.2.3');
    await expect(vetDestination('svc.internal', 80, p, answering('10.2.0.1'))).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
  });
});

describe('live refusals against loopback', () => {
  let target: TargetServer;
  let scraper: Scraper;
  let lookups: string[];

  beforeAll(async () => {
    target = await TargetServer.start({
      '/ok': (_req, res) => html(res, '<title>ok</title><p>fine</p>'),
      '/to-ip': (_req, res, s) => res.writeHead(302, { location: `http://127.0.0.1:${s.port}/ok` }).end(),
      '/to-decimal': (_req, res, s) => res.writeHead(301, { location: `http://2130706433:${s.port}/ok` }).end(),
      '/to-internal': (_req, res) => res.writeHead(307, { location: 'http://internal.test/ok' }).end(),
      '/to-metadata': (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
      '/to-file': (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    });
    lookups = [];
    // internal.test "resolves" to a private address; localhost resolves as usual.
    const lookup: LookupFn = async (host) => {
      lookups.push(host);
      return host === 'internal.test' ? [{ address: '10.0.0.1', family: 4 }] : systemLookup(host);
    };
    scraper = createScraper({ config: scraperConfig({ allowHosts: [`localhost:${target.port}`], perDomainPerMinute: 100_000 }), lookup });
  });
  afterAll(async () => {
    await scraper.close();
    await target.close();
  });

  it('fetches the allow-listed first hop', async () => {
    const r = await scraper.scrape({ url: target.url('/ok'), mode: 'standard' });
    expect(r.status).toBe(200);
    expect(r.title).toBe('ok');
  });

  it('refuses a redirect to 127.0.0.1 (not allow-listed by address)', async () => {
    const before = target.hits.length;
    await expect(scraper.scrape({ url: target.url('/to-ip'), mode: 'standard' })).rejects.toMatchObject({
      code: ScrapeErrorCodes.SSRF_REFUSED,
      details: { range: 'loopback' },
    });
    expect(target.hits.length - before).toBe(1);
  });

  it('refuses a redirect to a decimal-encoded loopback address', async () => {
    await expect(scraper.scrape({ url: target.url('/to-decimal'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
  });

  it('refuses a redirect to a name that resolves to a private address, before connecting', async () => {
    await expect(scraper.scrape({ url: target.url('/to-internal'), mode: 'standard' })).rejects.toMatchObject({
      code: ScrapeErrorCodes.SSRF_REFUSED,
      details: { host: 'internal.test', address: '10.0.0.1' },
    });
    expect(lookups).toContain('internal.test');
  });

  it('refuses a redirect to the cloud metadata address and to non-http schemes', async () => {
    await expect(scraper.scrape({ url: target.url('/to-metadata'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED, details: { range: 'linkLocal' } });
    await expect(scraper.scrape({ url: target.url('/to-file'), mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.BAD_REDIRECT });
  });

  const corpus = (port: number) => [
    `http://127.0.0.1:${port}/ok`,
    `http://2130706433:${port}/ok`,
    `http://0177.0.0.1:${port}/ok`,
    `http://0x7f.0.0.1:${port}/ok`,
    `http://0x7f000001:${port}/ok`,
    `http://127.1:${port}/ok`,
    `http://[::ffff:127.0.0.1]:${port}/ok`,
    `http://[::1]:${port}/ok`,
    `http://0.0.0.0:${port}/ok`,
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/',
    'http://10.0.0.1/',
  ];
  it('refuses every form of the SSRF corpus without a request reaching the server', async () => {
    const before = target.hits.length;
    for (const url of corpus(target.port)) {
      await expect(scraper.scrape({ url, mode: 'standard' }), url).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
    }
    expect(target.hits.length).toBe(before);
  });

  it('refuses a hostname that resolves to a private address (direct request)', async () => {
    await expect(scraper.scrape({ url: 'http://internal.test/', mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
  });

  it('refuses a loopback name when only a different port is allow-listed', async () => {
    await expect(scraper.scrape({ url: `http://localhost:${target.port + 1}/ok`, mode: 'standard' })).rejects.toMatchObject({ code: ScrapeErrorCodes.PORT_REFUSED });
  });

  it('refuses bad URLs and schemes with BAD_URL', async () => {
    for (const url of ['not a url', 'ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:70/', `http://user:pw@localhost:${target.port}/ok`]) {
      await expect(scraper.scrape({ url, mode: 'standard' }), url).rejects.toMatchObject({ code: ScrapeErrorCodes.BAD_URL, retryable: false });
    }
  });

  it('refuses the same corpus in zenrows mode before spending a request', async () => {
    await expect(scraper.scrape({ url: 'http://169.254.169.254/', mode: 'zenrows' })).rejects.toMatchObject({ code: ScrapeErrorCodes.SSRF_REFUSED });
  });
});
