export { buildProgram, type CliIo, main } from './cli.js';
