#!/usr/bin/env node
// Committed entry point (the compiled CLI lives in dist/, built by `npm ci` through `prepare`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
