import type { Logger } from '@drover/shared';
import type { Embedder } from './embedder.js';
import { EmbeddedMemoryStore } from './embedded-memory-store.js';
import { LocalEmbedder } from './local-embedder.js';
import type { MemoryStore } from './memory-store.js';
import { OpenAiEmbedder } from './openai-embedder.js';
import { QdrantMemoryStore } from './qdrant-memory-store.js';

export interface MemoryStoreConfig {
  /** Qdrant's URL; when set, memory lives in Qdrant, else in the embedded store. */
  qdrantUrl?: string;
  qdrantApiKey?: string;
  /** An OpenAI-compatible API's base URL; when set, texts are embedded there, else by the LocalEmbedder. */
  embeddingsUrl?: string;
  embeddingsApiKey?: string;
  /** Default `text-embedding-3-small`. */
  embeddingsModel?: string;
  /** The embedded store's data directory; without it, embedded memory is lost on exit. */
  dataDir?: string;
  logger?: Logger;
}

export const DEFAULT_EMBEDDINGS_MODEL = 'text-embedding-3-small';

/** The embedder the configuration names: an OpenAI-compatible service, or the offline default. */
export function createEmbedder(config: Pick<MemoryStoreConfig, 'embeddingsUrl' | 'embeddingsApiKey' | 'embeddingsModel'>): Embedder {
  if (!config.embeddingsUrl) return new LocalEmbedder();
  return new OpenAiEmbedder({ url: config.embeddingsUrl, apiKey: config.embeddingsApiKey, model: config.embeddingsModel ?? DEFAULT_EMBEDDINGS_MODEL });
}

/** The store the configuration names: Qdrant when a URL is given, else the embedded store (under dataDir if given). */
export function createMemoryStore(config: MemoryStoreConfig = {}): MemoryStore {
  const embedder = createEmbedder(config);
  if (config.qdrantUrl) {
    return new QdrantMemoryStore({ url: config.qdrantUrl, apiKey: config.qdrantApiKey, embedder, logger: config.logger });
  }
  return new EmbeddedMemoryStore({ embedder, dataDir: config.dataDir, logger: config.logger });
}
