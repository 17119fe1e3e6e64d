#!/usr/bin/env node
/**
 * The `atresolve` executable (package.json `bin`): runs `main()` with the
 * process's arguments and streams, and exits with its status.
 */
import { main } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await main(process.argv.slice(2), processIo());
