#!/usr/bin/env node
// Committed entry point (the compiled CLI lives in dist/, built by `npm ci` through `prepare`).
import { main } from '../dist/cli.js';

// A reader that goes away (`faultline templates big.log | head`) ends the output quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
