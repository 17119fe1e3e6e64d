// Child-process scenarios for test/transport/curl-process.test.ts,
// curl-exit.test.ts, curl-parking.test.ts and curl-prebuild.test.ts. Plain
// JS: imports the compiled package (ATRESOLVE_TEST_DIST, dist/index.js, and
// its `atresolve/transport` next to it). Environment: TEST_ORIGIN
// (https://127.0.0.1:port), TEST_CA (CA PEM path), TEST_SILENT (a port that
// accepts and never speaks). argv[2] is the scenario. Prints JSON lines.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const { AtresolveError, IdResolver } = await import(process.env.ATRESOLVE_TEST_DIST);
const { CurlTransport, createTransport, loadNativeAddon } = await import(
  new URL('./transport/index.js', pathToFileURL(process.env.ATRESOLVE_TEST_DIST)).href
);
const origin = process.env.TEST_ORIGIN;
const options = { caFile: process.env.TEST_CA, allowPrivateNetwork: true };
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function counts() {
  let sockets = 0;
  let fds = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    fds += 1;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {}
  }
  const threads = readdirSync('/proc/self/task').length;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  return { sockets, fds, threads, rss };
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

async function gcSettle() {
  for (let i = 0; i < 6; i += 1) {
    globalThis.gc();
    await delay(20);
  }
}

const scenarios = {
  // The addon loads (PREBUILDS_ONLY is the caller's business) and works.
  async load() {
    const load = loadNativeAddon();
    if (!load.ok) return say({ ok: false, reason: load.reason });
    const t = new CurlTransport(options);
    const res = await t.request(`${origin}/status/200`);
    await t.close();
    say({ ok: true, path: load.path, status: res.status, curl: load.addon.curlVersion, node: process.version });
  },
  async 'load-reason'() {
    const first = loadNativeAddon();
    say({ ok: first.ok, reason: first.reason, memoized: loadNativeAddon() === first });
  },
  // Create, use and drop transports without close(); finalizers must free
  // their threads, sockets and memory.
  async leak() {
    const rounds = Number(process.argv[3] ?? 200);
    const registry = new FinalizationRegistry(() => {
      finalized += 1;
    });
    let finalized = 0;
    const before = counts();
    let peak = before;
    for (let i = 0; i < rounds; i += 1) {
      let t = new CurlTransport(options);
      registry.register(t, i);
      const res = await t.request(`${origin}/bytes/2048`);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      t = undefined;
      if (i % 25 === 24) {
        await gcSettle();
        const now = counts();
        peak = { sockets: Math.max(peak.sockets, now.sockets), fds: Math.max(peak.fds, now.fds), threads: Math.max(peak.threads, now.threads), rss: Math.max(peak.rss, now.rss) };
      }
    }
    await gcSettle();
    await delay(100);
    await gcSettle();
    say({ rounds, finalized, before, after: counts(), peak });
  },
  // Idle transport, never closed: the process must exit by itself.
  async 'never-closed'() {
    const t = new CurlTransport(options);
    await t.request(`${origin}/status/200`);
    say({ stage: 'idle' });
  },
  // A request in flight when process.exit() runs.
  async 'exit-mid-request'() {
    const t = new CurlTransport(options);
    t.request(`${origin}/never`).catch(() => {});
    await delay(100);
    say({ stage: 'exiting' });
    process.exit(0);
  },
  // A request in flight, nothing else: the loop stays alive until it ends.
  async 'in-flight-then-idle'() {
    const t = new CurlTransport(options);
    const error = await t.request(`${origin}/never`, { timeoutMs: 300 }).catch((e) => e);
    say({ stage: 'settled', error: error.name });
  },
  async 'after-close'() {
    const t = new CurlTransport(options);
    await t.request(`${origin}/status/200`);
    await t.close();
    say({ stage: 'closed' });
  },
  // Exit while close() waits for a slow request.
  async 'exit-during-close'() {
    const t = new CurlTransport(options);
    t.request(`${origin}/delay/2000`).catch(() => {});
    await delay(100);
    t.close();
    await delay(50);
    say({ stage: 'exiting' });
    process.exit(0);
  },
  async 'after-destroy'() {
    const t = new CurlTransport(options);
    const pending = t.request(`${origin}/never`).catch((e) => e.name);
    await delay(100);
    await t.destroy();
    say({ stage: 'destroyed', error: await pending });
  },
  // An uncaught exception mid-request: exit code 1, no hang, no crash.
  async 'throw-mid-request'() {
    const t = new CurlTransport(options);
    t.request(`${origin}/never`).catch(() => {});
    await delay(100);
    setTimeout(() => {
      throw new Error('boom');
    }, 0);
  },
  // A SIGTERM handler calls process.exit(code) while requests run: TLS
  // handshakes on fresh connections and CA bundle loads after resets
  // ('load'), plus 50 requests hanging in a handshake with a silent server
  // ('hang'). The parent sends SIGTERM after the first line.
  async 'exit-on-sigterm'() {
    const mode = process.argv[3];
    const code = Number(process.argv[4]);
    process.on('SIGTERM', () => process.exit(code));
    const transports = [0, 1].map(() => new CurlTransport({ ...options, maxIdleConnections: 0 }));
    if (mode === 'hang') {
      for (let i = 0; i < 50; i += 1) {
        transports[i % 2].request(`https://127.0.0.1:${process.env.TEST_SILENT}/`, { timeoutMs: 60_000, connectTimeoutMs: 60_000 }).catch(() => {});
      }
    }
    const loop = async (t) => {
      for (let i = 0; ; i += 1) {
        await t.request(`${origin}/status/200`).catch(() => {});
        if (i % 8 === 7) await t.reset().catch(() => {});
      }
    };
    for (const t of transports) for (let k = 0; k < 6; k += 1) void loop(t);
    await delay(20);
    say({ stage: 'running' });
  },
  // Descriptors exhausted (the parent runs this under `ulimit -n 64`):
  // constructing transports and a resolver, then a request, give typed
  // errors; once descriptors are free again the same transport works.
  async 'fds-exhausted'() {
    const { openSync, closeSync } = await import('node:fs');
    const early = new CurlTransport(options); // reads caFile now, opens nothing
    const held = [];
    try {
      for (;;) held.push(openSync('/dev/null', 'r'));
    } catch {}
    const outcome = (make) => {
      try {
        make();
        return 'ok';
      } catch (error) {
        return { name: error.name, typed: error instanceof AtresolveError, message: error.message };
      }
    };
    const construct = {
      curl: outcome(() => new CurlTransport({ allowPrivateNetwork: true })),
      curlWithCaFile: outcome(() => new CurlTransport(options)),
      create: outcome(() => createTransport({ allowPrivateNetwork: true })),
      resolver: outcome(() => new IdResolver()),
    };
    const failed = await early.request(`${origin}/status/200`).then(
      (res) => ({ status: res.status }),
      (error) => ({ name: error.name, typed: error instanceof AtresolveError, message: error.message }),
    );
    for (const fd of held.splice(0)) closeSync(fd);
    const recovered = await early.request(`${origin}/status/200`).then((res) => res.status, (error) => error.name);
    await early.close();
    say({ construct, failed, recovered });
  },
  // worker_threads: the addon in workers and the main thread at once; a
  // worker terminated mid-request; a worker that finishes normally.
  async workers() {
    const main = new CurlTransport(options);
    const mainRequest = main.request(`${origin}/delay/300`);
    const start = (mode) => new Worker(new URL(import.meta.url), { workerData: { mode }, env: process.env, argv: ['worker'] });
    const stuck = start('stuck');
    await new Promise((resolve, reject) => {
      stuck.once('message', resolve);
      stuck.once('error', reject);
    });
    const code = await stuck.terminate();
    const normal = start('normal');
    // Listen for 'exit' from the start: under load it can fire before the
    // 'message' continuation runs, and a late listener would never hear it.
    const exited = new Promise((resolve) => normal.once('exit', resolve));
    const result = await new Promise((resolve, reject) => {
      normal.once('message', resolve);
      normal.once('error', reject);
    });
    const normalExit = await exited;
    const res = await mainRequest;
    await main.close();
    say({ terminatedCode: code, normal: result, normalExit, mainStatus: res.status });
  },
};

if (!isMainThread) {
  const t = new CurlTransport(options);
  if (workerData.mode === 'stuck') {
    t.request(`${origin}/never`).catch(() => {});
    setTimeout(() => parentPort.postMessage('started'), 100);
  } else {
    const res = await t.request(`${origin}/bytes/100`);
    await t.close();
    parentPort.postMessage({ status: res.status, length: res.body.length });
  }
} else {
  const scenario = scenarios[process.argv[2]];
  if (!scenario) {
    console.error(`unknown scenario ${process.argv[2]}`);
    process.exit(2);
  }
  await scenario();
}
