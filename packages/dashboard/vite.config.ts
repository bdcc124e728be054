import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Served by the orchestrator at /ui/ under a CSP without 'unsafe-inline': every script and style
// must be a file of its own, so nothing is inlined into index.html.
export default defineConfig({
  base: '/ui/',
  plugins: [preact({ prerender: { enabled: false } })],
  resolve: { conditions: ['@drover/source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
