import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

describe('DROVER_REGION', () => {
  const backend = new MemoryBackend();
  afterAll(() => backend.close());

  it('labels every metric series with the region, as the logs are', async () => {
    const config = loadConfig({ DROVER_AUTH: 'false', DROVER_REGION: 'eu-west-1', DROVER_LOG_LEVEL: 'silent' });
    const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: config.region, level: 'silent' });
    const app = await buildApp({ config, backend, logger });
    try {
      await app.inject({ method: 'POST', url: '/v1/tasks', headers: { 'content-type': 'application/json' }, payload: '{"type":"echo"}' });
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const series = text.split('\n').filter((l) => l.startsWith('drover_'));
      expect(series.length).toBeGreaterThan(5);
      expect(series.filter((l) => !l.includes('region="eu-west-1"'))).toEqual([]);
      expect(text).toMatch(/drover_queue_backlog\{[^}]*queue="general"[^}]*\} 1/);
    } finally {
      await app.close();
    }
  });
});
