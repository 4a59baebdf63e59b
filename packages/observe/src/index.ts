export { OBSERVE_VERSION } from './version.js';
