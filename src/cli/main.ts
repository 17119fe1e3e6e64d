#!/usr/bin/env node
/**
 * The `atresolve` executable (package.json `bin`): runs `main()` with the
 * process's arguments and streams, and exits with its status.
 */
import { main } from './cli.js';
import { processIo } from './io.js';

const status = await main(process.argv.slice(2), processIo());
// Exit now rather than when the event loop empties: work a command gave up
// on (a DNS query still retrying after `resolve --timeout`) must not keep
// the process waiting. Output to pipes, files and terminals is written
// synchronously on Linux, so nothing printed is lost.
process.exit(status);
