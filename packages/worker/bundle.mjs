// Bundles the compiled worker (dist/main.js and everything it imports, node_modules included)
// into one file, dist/worker.mjs, which is what the image runs. A worker process then reads one
// file instead of resolving and loading some 280 modules: it is ready in about 0.45 s instead
// of 0.8 s, and that start time is what an autoscaled pool waits for when a burst arrives
// (bench/autoscale.ts). Dynamic imports (the rabbitmq backend, the scraper's HTML tools) stay
// lazy inside the bundle: their modules run only when first imported.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./dist/main.js', import.meta.url).pathname],
  outfile: new URL('./dist/worker.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require(); give the ES module bundle one.
  banner: { js: "import { createRequire as __droverRequire } from 'node:module'; const require = __droverRequire(import.meta.url);" },
  logLevel: 'warning',
});
