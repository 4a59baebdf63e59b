// A process that logs to stdout (or a buffered file) and ends in a given way, for the tests of
// what reaches the output: `node --import tsx stdout-child.fixtures.ts <mode> [file]`.
//   exit    1000 info lines to stdout, then process.exit(3)
//   throw   1000 info lines to stdout, then an uncaught exception
//   file    1000 info lines to a buffered file once it is open, then process.exit(0)
//   error   3 info lines and an error line to stdout (250 ms flush off), then waits to be killed
//   shared  1000 info lines to stdout from two loggers in turn (createLogger's and an observer's)
//           then process.exit(0)
//   stuck   ~56 MB of lines to a stdout nobody reads, a 10 ms heartbeat beside them; reports
//           {beats, maxGapMs, writeErrors, droppedBytes} on stderr, then process.exit(0)
//   observe an instrumented server on stdout; prints its port on stderr; exits on SIGTERM
//           without closing the observer
import { createServer } from 'node:http';
import { pino } from 'pino';
import { observe } from '../observe.js';
import { fileDestination, stdoutDestination } from './file-destination.js';
import { createLogger } from './logger.js';

const [mode, file] = process.argv.slice(2);
const lines = (log: pino.Logger) => {
  for (let i = 0; i < 1000; i++) log.info({ i }, 'line');
};

if (mode === 'exit') {
  lines(pino(stdoutDestination().stream));
  process.exit(3);
} else if (mode === 'throw') {
  lines(pino(stdoutDestination().stream));
  throw new Error('boom');
} else if (mode === 'shared') {
  const a = createLogger({ service: 'a' });
  const b = observe({ service: 'b', logs: {} }).log;
  for (let i = 0; i < 1000; i++) (i % 2 === 0 ? a : b)?.info({ i }, 'line');
  process.exit(0);
} else if (mode === 'stuck') {
  const out = stdoutDestination();
  const log = pino({}, out.stream);
  let beats = 0;
  let maxGapMs = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    beats++;
  }, 10);
  const pad = 'x'.repeat(200);
  let i = 0;
  const burst = () => {
    for (let k = 0; k < 2000; k++) log.info({ i: i++, pad }, 'line');
    if (i < 200_000) setImmediate(burst);
    else
      setTimeout(() => {
        process.stderr.write(`${JSON.stringify({ beats, maxGapMs, ...out.stats() })}\n`);
        process.exit(0);
      }, 300);
  };
  burst();
} else if (mode === 'file' && file !== undefined) {
  const log = pino(fileDestination(file, { bufferBytes: 16384 }).stream);
  // the file opens asynchronously; a service exits long after
  setTimeout(() => {
    lines(log);
    process.exit(0);
  }, 200);
} else if (mode === 'error') {
  const log = pino(stdoutDestination({ flushIntervalMs: 600_000 }).stream);
  for (let i = 0; i < 3; i++) log.info({ i }, 'line');
  log.error('failed');
  setInterval(() => {}, 1000);
} else if (mode === 'observe') {
  const obs = observe({ service: 'child', logs: {} });
  const server = createServer((req, res) => {
    if (!obs.handler(req, res)) res.end('ok');
  });
  obs.instrumentHttpServer(server);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address !== null && typeof address === 'object') process.stderr.write(`${address.port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  throw new Error(`unknown mode ${mode}`);
}
