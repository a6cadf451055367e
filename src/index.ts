export { createHerald, type Herald } from './server.js';
export { loadConfig, type HeraldConfig } from './config.js';
export { HeraldError } from './errors.js';
export type { Store } from './store/types.js';
