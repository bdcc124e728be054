export { buildApp, buildOpsApp } from './app.js';
export { DEFAULT_DASHBOARD_DIR } from './routes/ui.js';
export type { BuildAppOptions } from './app-options.js';
export type { DroverContext } from './drover-context.js';
