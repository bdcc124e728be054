import { MemoryBackend } from '../src/backends/memory-backend.js';
import { type ConformanceStore, backendConformance } from './conformance/backend-conformance.js';
import { childrenConformance } from './conformance/children-conformance.js';
import { fairnessConformance } from './conformance/fairness-conformance.js';

const makeStore = async (): Promise<ConformanceStore> => {
  const backend = new MemoryBackend();
  // Two "clients" of one in-process store are the same instance; close it once.
  let closed = false;
  return {
    open: async () => {
      const view = Object.create(backend) as MemoryBackend;
      view.close = async () => undefined;
      return view;
    },
    teardown: async () => {
      if (!closed) await backend.close();
      closed = true;
    },
  };
};

backendConformance('memory', makeStore);
childrenConformance('memory', makeStore);
fairnessConformance('memory', makeStore);
