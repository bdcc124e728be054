export { buildApp, buildOpsApp } from './app.js';
export type { BuildAppOptions } from './app-options.js';
export type { DroverContext } from './drover-context.js';
