export { CHAOS_VERSION } from './version.js';
