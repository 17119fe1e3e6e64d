/**
 * Entry point of the world's child process (`startWorldProcess()`): runs
 * `startWorld()` with the options from the parent's `start` message and
 * serves the parent's calls over IPC. The child dies with its parent: when
 * the IPC channel closes (parent exited, crashed or was killed) it closes the
 * world, removing its CA directory, and exits.
 */
import { describeError, type ChildMessage, type ParentMessage } from './ipc.js';
import { startWorld, type World } from './world.js';

/** How long a shutdown may take before the child exits anyway. */
const SHUTDOWN_DEADLINE_MS = 5_000;

let world: World | undefined;
let starting: Promise<World | undefined> | undefined;
let shuttingDown = false;

function send(message: ChildMessage, then?: () => void): void {
  if (process.connected) process.send?.(message, undefined, {}, () => then?.());
  else then?.();
}

/** Close the world (if any) and exit; bounded by SHUTDOWN_DEADLINE_MS. */
function shutdown(code: number): void {
  if (shuttingDown) return;
  shuttingDown = true;
  setTimeout(() => process.exit(code === 0 ? 1 : code), SHUTDOWN_DEADLINE_MS).unref();
  void (async () => {
    try {
      await (starting ?? Promise.resolve(undefined));
      await world?.close();
    } finally {
      process.exit(code);
    }
  })();
}

async function onMessage(message: ParentMessage): Promise<void> {
  if (message.op === 'start') {
    if (starting !== undefined) return;
    starting = startWorld(message.options).then(
      (started) => {
        world = started;
        const { plcUrl, connectTo, caFile, caPem, dnsServer, httpsPort, dnsPort } = started;
        send({ type: 'ready', endpoints: { plcUrl, connectTo, caFile, caPem, dnsServer, httpsPort, dnsPort } });
        return started;
      },
      (error: unknown) => {
        send({ type: 'startFailed', error: describeError(error) }, () => shutdown(1));
        return undefined;
      },
    );
    return;
  }
  const current = world;
  if (current === undefined) {
    send({ type: 'reply', id: message.id, error: 'WorldProcessError: the world has not started' });
    return;
  }
  try {
    switch (message.op) {
      case 'setFaults':
        current.setFaults(message.faults);
        send({ type: 'reply', id: message.id });
        return;
      case 'counters':
        send({ type: 'reply', id: message.id, value: current.counters() });
        return;
      case 'resetCounters':
        current.resetCounters();
        send({ type: 'reply', id: message.id });
        return;
      case 'close':
        await current.close();
        send({ type: 'reply', id: message.id, value: current.counters() }, () => shutdown(0));
        return;
    }
  } catch (error) {
    send({ type: 'reply', id: message.id, error: describeError(error) });
  }
}

if (process.send === undefined) {
  process.stderr.write('atresolve world child: must be started by startWorldProcess() (no IPC channel)\n');
  process.exit(2);
}
process.on('message', (message: ParentMessage) => void onMessage(message));
process.on('disconnect', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
