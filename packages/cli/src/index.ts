export { withEmbeddedKey, EMBEDDED_TENANT } from './embedded-key.js';
