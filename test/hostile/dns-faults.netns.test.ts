import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { AbortError, DnsError, TimeoutError, TransportDestroyedError } from '../../src/transport/errors.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { Transport } from '../../src/transport/types.js';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';
import { sleep, timed } from '../support/async.js';
import { distTransport } from '../support/dist.js';
import { startScriptedDns, startSilentDns, type ScriptedDnsServer, type SilentDnsServer } from '../support/dns-server.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { implementations } from '../transport/implementations.js';
import { failOnUnhandledRejections } from './support.js';

/**
 * DNS faults as the real internet has them, through each transport's real
 * name resolution with its defaults. Runs only inside the namespace of
 * `scripts/netns-run.mjs` (`npm run test:netns`): the system resolver
 * (`/etc/resolv.conf` there) is the scripted DNS server on 127.0.0.1:53,
 * and 1.2.3.4 is a "public" address on `lo` with an HTTPS server.
 *
 * Dead names are never answered (a domain whose nameserver is gone); slow
 * names get SERVFAIL after 3 s (a recursive resolver giving up); `ok-*`
 * names answer 1.2.3.4 at once. The bounds asserted come from the
 * configured limits (`timeoutMs`, `dns.timeoutMs × dns.tries`) plus 100 ms.
 */

failOnUnhandledRejections();

const PUBLIC_V4 = '1.2.3.4';
const SLACK_MS = 100;

let ca: TestCa;
let dns: ScriptedDnsServer;
let server: HostileServer;
let serial = 0;

/**
 * A fresh host name of a kind. Dead and slow names each have a domain of
 * their own (lapsed custom domains), and their `_atproto.` TXT name behaves
 * the same; healthy names are under example.com.
 */
function name(kind: 'dead' | 'slow' | 'ok'): string {
  serial += 1;
  const host = kind === 'ok' ? `ok-${serial}.example.com` : `www.${kind}-${serial}.com`;
  for (const asked of [host, `_atproto.${host}`]) {
    if (kind === 'dead') dns.set(asked, { drop: true });
    else if (kind === 'slow') dns.set(asked, { delayMs: 3_000, then: { rcode: 'SERVFAIL' } });
  }
  if (kind === 'ok') dns.set(host, { a: [PUBLIC_V4] });
  return host;
}

const threads = (): number => readdirSync('/proc/self/task').length;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

beforeAll(async () => {
  if (process.env.ATRESOLVE_NETNS !== '1') {
    throw new Error('this file runs only inside the test namespace: npm run test:netns (scripts/netns-run.mjs)');
  }
  ca = await createTestCa({ commonName: 'atresolve dns-faults CA' });
  dns = await startScriptedDns({ host: '127.0.0.1', port: 53 });
  server = await startHostileServer({ ca, dnsNames: ['*.example.com'], ips: [PUBLIC_V4], host: PUBLIC_V4, port: 443, defaultMode: 'public' });
  server.mode('public', (ex) => {
    if (ex.path.startsWith('/.well-known/did.json')) {
      ex.respond(200, { 'content-type': 'application/json' }, JSON.stringify({ id: `did:web:${ex.host}`, alsoKnownAs: [`at://${ex.host}`] }));
    } else {
      ex.respond(200, { 'content-type': 'text/plain' }, 'ok');
    }
  });
});

afterAll(async () => {
  await server?.close();
  await dns?.close();
  await ca?.dispose();
});

describe.each(implementations)('$name transport: a slow or dead DNS name delays nothing else', ({ name: kind, create }) => {
  const open: Transport[] = [];
  afterAll(async () => {
    await Promise.all(open.map((t) => t.destroy()));
  });

  function make(options: TransportOptions = {}): Transport {
    const t = create({ caFile: ca.certFile, ...options });
    open.push(t);
    return t;
  }

  it('a dead name settles within timeoutMs + 100 ms, as a timeout caused by DNS', async () => {
    const t = make();
    const { elapsedMs: ms, error } = await timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 500 }));
    expect(ms).toBeLessThan(500 + SLACK_MS);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).cause).toBeInstanceOf(DnsError);
    expect((error as TimeoutError).cause).toMatchObject({ reason: 'TIMEOUT' });
  });

  it('a SERVFAIL that takes 3 s: settles within timeoutMs + 100 ms', async () => {
    const t = make();
    const { elapsedMs: ms, error } = await timed(() => t.request(`https://${name('slow')}/`, { timeoutMs: 500 }));
    expect(ms).toBeLessThan(500 + SLACK_MS);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('a healthy request started during a dead lookup is not held up', async () => {
    const t = make();
    const dead = timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 2_000 }));
    await sleep(100);
    const healthy = await timed(() => t.request(`https://${name('ok')}/`, { timeoutMs: 2_000 }));
    expect(healthy.error).toBeUndefined();
    expect(healthy.elapsedMs).toBeLessThan(500);
    expect((await dead).error).toBeInstanceOf(TimeoutError);
  });

  it('an abort settles within 100 ms', async () => {
    const t = make();
    const controller = new AbortController();
    const pending = timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 10_000, signal: controller.signal }));
    await sleep(50);
    const started = performance.now();
    controller.abort();
    const { error } = await pending;
    expect(performance.now() - started).toBeLessThan(SLACK_MS);
    expect(error).toBeInstanceOf(AbortError);
  });

  it('destroy() settles within 100 ms with dead lookups in flight', async () => {
    const t = make();
    const pending = Array.from({ length: 20 }, () => timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 10_000 })));
    await sleep(50);
    const { elapsedMs: ms } = await timed(() => t.destroy());
    expect(ms).toBeLessThan(SLACK_MS);
    for (const outcome of await Promise.all(pending)) expect(outcome.error).toBeInstanceOf(TransportDestroyedError);
  });

  it('close() settles within 100 ms while abandoned dead lookups linger', async () => {
    const t = make();
    const failed = await Promise.all(Array.from({ length: 20 }, () => timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 200 }))));
    for (const outcome of failed) expect(outcome.error).toBeInstanceOf(TimeoutError);
    expect(t.stats().dns.abandoned).toBeGreaterThan(0);
    const { elapsedMs: ms } = await timed(() => t.close());
    expect(ms).toBeLessThan(SLACK_MS);
  });

  it('with 200 dead names in flight, new healthy hosts keep their latency and no thread is started per name', async () => {
    const t = make();
    const healthyRound = async (): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < 15; i += 1) {
        const { elapsedMs: ms, error } = await timed(() => t.request(`https://${name('ok')}/`, { timeoutMs: 3_000 }));
        expect(error).toBeUndefined();
        times.push(ms);
      }
      return times;
    };
    const baseline = median(await healthyRound());
    const threadsBefore = threads();
    const dead = Array.from({ length: 200 }, () => timed(() => t.request(`https://${name('dead')}/`, { timeoutMs: 8_000 })));
    await sleep(100);
    const loaded = median(await healthyRound());
    const threadsDuring = threads();
    console.log(`${kind}: new-host median ${baseline.toFixed(1)} ms alone, ${loaded.toFixed(1)} ms with 200 dead names in flight; threads ${threadsBefore} → ${threadsDuring}`);
    expect(loaded).toBeLessThan(Math.max(3 * baseline, baseline + 50));
    expect(threadsDuring - threadsBefore).toBeLessThanOrEqual(4);
    await t.destroy();
    await Promise.all(dead);
  });
});

describe('handle resolution against dead DNS', () => {
  const silent: SilentDnsServer[] = [];
  afterAll(async () => {
    await Promise.all(silent.map((server) => server.close()));
  });

  async function silentServer(host: string): Promise<string> {
    const server = await startSilentDns({ host, port: 53 });
    silent.push(server);
    return server.address;
  }

  it('a TXT lookup ends within dns.timeoutMs × dns.tries, with one silent nameserver and with three', async () => {
    const extra = [await silentServer('1.2.3.5'), await silentServer('10.1.2.3')];
    for (const nameservers of [[], ['127.0.0.1', ...extra]]) {
      const resolver = new IdResolver({ dns: { nameservers, timeoutMs: 300, tries: 2 }, transport: { caFile: ca.certFile } });
      try {
        const { elapsedMs: ms, error } = await timed(() => resolver.handle.resolveDns(name('dead')));
        expect(error).toBeInstanceOf(ResolutionFailedError);
        expect((error as Error).cause).toMatchObject({ reason: 'TIMEOUT' });
        expect(ms).toBeLessThan(600 + SLACK_MS);
      } finally {
        await resolver.close();
      }
    }
  });

  it('resolveIdentity of a handle under a silent nameserver ends within timeoutMs; a did:web beside it is not held up', async () => {
    const resolver = new IdResolver({ timeoutMs: 3_000, transport: { caFile: ca.certFile } });
    try {
      const deadHandle = timed(() => resolver.resolveIdentity(name('dead')));
      await sleep(100);
      const healthy = await timed(() => resolver.resolveIdentity(`did:web:${name('ok')}`));
      expect(healthy.error).toBeUndefined();
      expect(healthy.elapsedMs).toBeLessThan(1_000);
      const dead = await deadHandle;
      expect(dead.elapsedMs).toBeLessThan(3_000 + SLACK_MS);
      expect(dead.error).toBeDefined();
    } finally {
      await resolver.close();
    }
  });
});

describe('a worker holding a resolver', () => {
  it('terminates within 100 ms with dead lookups in flight', async () => {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async ({ createTransport }) => {
        const t = createTransport({ caFile: workerData.caFile });
        for (const host of workerData.hosts) t.request('https://' + host + '/', { timeoutMs: 10000 }).catch(() => {});
        setTimeout(() => parentPort.postMessage('busy'), 100);
      });
    `;
    for (const kind of ['curl', 'undici']) {
      const hosts = Array.from({ length: 50 }, () => name('dead'));
      const worker = new Worker(source, {
        eval: true,
        workerData: { dist: distTransport, caFile: ca.certFile, hosts },
        env: { ...process.env, ATRESOLVE_TRANSPORT: kind },
      });
      await once(worker, 'message');
      const { elapsedMs: ms } = await timed(() => worker.terminate());
      expect(ms, kind).toBeLessThan(SLACK_MS);
    }
  });
});
