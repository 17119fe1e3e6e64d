import { once } from 'node:events';
import { createServer as createNetServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { ForbiddenAddressError, ConnectError, RedirectError, TlsError } from '../../src/transport/errors.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { Transport } from '../../src/transport/types.js';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';
import { startScriptedDns, type DnsRecord, type ScriptedDnsServer } from '../support/dns-server.js';
import { startHostileServer, type HostileExchange, type HostileServer } from '../support/hostile-server.js';
import { implementations } from '../transport/implementations.js';
import { failOnUnhandledRejections } from './support.js';

/**
 * SSRF through real DNS answers. Runs only inside the namespace of
 * `scripts/netns-run.mjs` (`npm run test:netns`): there the system resolver
 * is the scripted DNS server on 127.0.0.1:53, 1.2.3.4 / 2600::1 are
 * "public" addresses on `lo`, and 127.0.0.1, 10.1.2.3, 169.254.169.254,
 * ::1 and fd00::1 carry sentinel servers that count every connection. Both
 * transports run with their defaults (no allowPrivateNetwork, no
 * connectTo): a forbidden answer must be refused with the sentinel never
 * contacted; with allowPrivateNetwork the same name reaches the sentinel,
 * which proves the answer was really used.
 */

failOnUnhandledRejections();

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const SENTINEL_DID = 'did:plc:sssssssssssssssssssssss2';
const PUBLIC_V4 = '1.2.3.4';
const PUBLIC_V6 = '2600::1';

/** Forbidden DNS answers: name → [record, expected class, expected address, sentinel address]. */
const FORBIDDEN: [name: string, record: DnsRecord, addressClass: string, address: string | undefined, sentinel: string][] = [
  ['loopback.example.com', { a: ['127.0.0.1'] }, 'loopback', '127.0.0.1', '127.0.0.1'],
  ['private.example.com', { a: ['10.1.2.3'] }, 'private', '10.1.2.3', '10.1.2.3'],
  ['metadata.example.com', { a: ['169.254.169.254'] }, 'link-local', '169.254.169.254', '169.254.169.254'],
  ['loopback6.example.com', { aaaa: ['::1'] }, 'loopback', '::1', '::1'],
  // How the mapped address is reported differs (curl: "::ffff:127.0.0.1"); its class does not.
  ['mapped.example.com', { aaaa: ['::ffff:127.0.0.1'] }, 'loopback', undefined, '127.0.0.1'],
  ['ula.example.com', { aaaa: ['fd00::1'] }, 'private', 'fd00::1', 'fd00::1'],
];

let ca: TestCa;
let dns: ScriptedDnsServer;
let publicServer: HostileServer;
let publicOtherPort: HostileServer;
let publicServer6: HostileServer;
/** Accepts on a public address and resets every connection at once. */
let closer: Server;
const CLOSER_PORT = 9443;
const sentinels = new Map<string, HostileServer>();

function answerFor(ex: HostileExchange, did: string): void {
  if (ex.path.startsWith('/.well-known/did.json')) {
    const id = `did:web:${ex.host}`;
    ex.respond(200, { 'content-type': 'application/json' }, JSON.stringify({ id, alsoKnownAs: [`at://${ex.host}`] }));
  } else {
    ex.respond(200, { 'content-type': 'text/plain' }, did);
  }
}

beforeAll(async () => {
  if (process.env.ATRESOLVE_NETNS !== '1') {
    throw new Error('this file runs only inside the test namespace: npm run test:netns (scripts/netns-run.mjs)');
  }
  ca = await createTestCa({ commonName: 'atresolve netns CA' });
  const names = { dnsNames: ['*.example.com'], ips: ['127.0.0.1', '::1', '10.1.2.3', '169.254.169.254', 'fd00::1', PUBLIC_V4, PUBLIC_V6] };
  dns = await startScriptedDns({ host: '127.0.0.1', port: 53 });
  publicServer = await startHostileServer({ ca, ...names, host: PUBLIC_V4, port: 443, defaultMode: 'public' });
  publicOtherPort = await startHostileServer({ ca, ...names, host: PUBLIC_V4, port: 8443, defaultMode: 'public' });
  publicServer6 = await startHostileServer({ ca, ...names, host: PUBLIC_V6, port: 443, defaultMode: 'public' });
  for (const server of [publicServer, publicOtherPort, publicServer6]) server.mode('public', (ex) => answerFor(ex, DID));
  for (const address of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', 'fd00::1']) {
    const sentinel = await startHostileServer({ ca, ...names, host: address, port: 443, defaultMode: 'sentinel' });
    sentinel.mode('sentinel', (ex) => answerFor(ex, SENTINEL_DID));
    sentinels.set(address, sentinel);
  }
  dns.set('public.example.com', { a: [PUBLIC_V4] });
  dns.set('public6.example.com', { aaaa: [PUBLIC_V6] });
  for (const [name, record] of FORBIDDEN) dns.set(name, record);
  dns.set('mixed.example.com', { a: ['127.0.0.1', PUBLIC_V4] });
  closer = createNetServer((socket) => socket.destroy());
  closer.listen(CLOSER_PORT, PUBLIC_V4);
  await once(closer, 'listening');
  dns.set('closer.example.com', { a: [PUBLIC_V4] });
  // Handles on the public host whose well-known redirects somewhere else.
  const redirects: Record<string, string> = {
    'redir-ip-loopback': 'https://127.0.0.1/.well-known/atproto-did',
    'redir-ip-private': 'https://10.1.2.3/.well-known/atproto-did',
    'redir-metadata': 'https://169.254.169.254/latest/meta-data/',
    'redir-ip6': 'https://[::1]/.well-known/atproto-did',
    'redir-mapped': 'https://[::ffff:127.0.0.1]/.well-known/atproto-did',
    'redir-name': 'https://loopback.example.com/.well-known/atproto-did',
    'redir-private-port': 'https://loopback.example.com:8443/.well-known/atproto-did',
    'redir-http': 'http://public.example.com/.well-known/atproto-did',
    'redir-port': 'https://public.example.com:8443/.well-known/atproto-did',
  };
  for (const [label, location] of Object.entries(redirects)) {
    dns.set(`${label}.example.com`, { a: [PUBLIC_V4] });
    publicServer.mode(label, (ex) => ex.respond(302, { location }));
  }
});

afterAll(async () => {
  closer?.close();
  await Promise.all([publicServer, publicOtherPort, publicServer6, ...sentinels.values()].map((s) => s?.close()));
  await dns?.close();
  await ca?.dispose();
});

function sentinelConnections(): number {
  let total = 0;
  for (const sentinel of sentinels.values()) total += sentinel.accepted;
  return total;
}

describe.each(implementations)('$name transport with its defaults', ({ create }) => {
  const open: Transport[] = [];
  afterAll(async () => {
    await Promise.all(open.map((t) => t.destroy()));
  });

  function make(options: TransportOptions = {}): Transport {
    const t = create({ caFile: ca.certFile, dnsCacheTtlMs: 0, timeoutMs: 3_000, ...options });
    open.push(t);
    return t;
  }

  it('reaches public addresses through the system resolver (control)', async () => {
    const t = make();
    expect((await t.request('https://public.example.com/.well-known/atproto-did')).body.toString()).toBe(DID);
    expect((await t.request('https://public6.example.com/.well-known/atproto-did')).body.toString()).toBe(DID);
    expect(dns.queries.get('public.example.com')).toBeGreaterThan(0);
  });

  it.each(FORBIDDEN)('%s: ForbiddenAddressError, sentinel untouched', async (name, _record, addressClass, address, sentinelAddress) => {
    const t = make();
    const before = sentinels.get(sentinelAddress)?.accepted;
    const error = await t.request(`https://${name}/.well-known/atproto-did`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenAddressError);
    expect((error as ForbiddenAddressError).addressClass).toBe(addressClass);
    if (address !== undefined) expect((error as ForbiddenAddressError).address).toBe(address);
    expect(sentinels.get(sentinelAddress)?.accepted).toBe(before);
  });

  it.each(FORBIDDEN)('%s: reaches its sentinel with allowPrivateNetwork (the answer was real)', async (name, _r, _c, _a, sentinelAddress) => {
    const t = make({ allowPrivateNetwork: true });
    const before = sentinels.get(sentinelAddress)?.accepted ?? 0;
    const res = await t.request(`https://${name}/.well-known/atproto-did`);
    expect(res.body.toString()).toBe(SENTINEL_DID);
    expect(sentinels.get(sentinelAddress)?.accepted).toBeGreaterThan(before);
  });

  it('a name with a private and a public address connects only to the public one', async () => {
    const t = make();
    const before = sentinelConnections();
    for (let i = 0; i < 3; i += 1) {
      expect((await t.request('https://mixed.example.com/.well-known/atproto-did')).body.toString()).toBe(DID);
      await t.clearConnections();
    }
    expect(sentinelConnections()).toBe(before);
  });

  it('DNS rebinding: a name that turns private is refused on the next connection', async () => {
    dns.set('rebind.example.com', { rotate: [{ a: [PUBLIC_V4], ttl: 0 }, { a: ['127.0.0.1'], ttl: 0 }] });
    const t = make();
    const before = sentinelConnections();
    expect((await t.request('https://rebind.example.com/.well-known/atproto-did')).body.toString()).toBe(DID);
    await t.clearConnections();
    const error = await t.request('https://rebind.example.com/.well-known/atproto-did').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenAddressError);
    expect(sentinelConnections()).toBe(before);
  });

  it('an unreachable public address is a ConnectError, not a forbidden one', async () => {
    dns.set('unrouted.example.com', { a: ['1.2.3.5'] });
    const error = await make().request('https://unrouted.example.com/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
  });

  it('a public server that resets before TLS is a TlsError, not a forbidden address', async () => {
    // The reset can come before the peer address is read: that is no
    // address to refuse (undici once reported it as a forbidden one).
    const t = make();
    for (let i = 0; i < 5; i += 1) {
      const error = await t.request(`https://closer.example.com:${CLOSER_PORT}/`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TlsError);
    }
  });
});

describe.each(implementations)('$name transport: IdResolver with production defaults', ({ create }) => {
  let transport: Transport;
  let resolver: IdResolver;
  beforeAll(() => {
    transport = create({ caFile: ca.certFile, dnsCacheTtlMs: 0, timeoutMs: 3_000 });
    // Everything else default: system DNS (the scripted server), no .test, no private network.
    resolver = new IdResolver({ transport, cache: false, timeoutMs: 3_000 });
  });
  afterAll(async () => {
    await resolver.close();
    await transport.destroy();
  });

  it('resolves a handle and a did:web on a public host (control)', async () => {
    expect(await resolver.handle.resolveHttp('public.example.com')).toBe(DID);
    expect((await resolver.did.resolve('did:web:public.example.com'))?.id).toBe('did:web:public.example.com');
  });

  it.each(FORBIDDEN)('%s: the well-known and did:web refused (a transient failure, never a cached "none"), sentinel untouched', async (name) => {
    const before = sentinelConnections();
    const fromHandle = await resolver.resolveIdentity(name).catch((e: unknown) => e);
    expect(fromHandle).toBeInstanceOf(ResolutionFailedError);
    expect((fromHandle as Error).cause).toBeInstanceOf(ForbiddenAddressError);
    const error = await resolver.did.resolve(`did:web:${name}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect((error as Error).cause).toBeInstanceOf(ForbiddenAddressError);
    expect(sentinelConnections()).toBe(before);
  });

  it.each([
    'redir-ip-loopback',
    'redir-ip-private',
    'redir-metadata',
    'redir-ip6',
    'redir-mapped',
    'redir-name',
    'redir-private-port',
    'redir-http',
  ])('%s: the well-known redirect is refused on its hop (a transient failure), sentinel untouched', async (label) => {
    const before = sentinelConnections();
    const hits = publicServer.requests.get(label) ?? 0;
    const error = await resolver.handle.resolveHttp(`${label}.example.com`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect([RedirectError, ForbiddenAddressError].some((Class) => (error as Error).cause instanceof Class)).toBe(true);
    expect(publicServer.requests.get(label)).toBe(hits + 1);
    expect(sentinelConnections()).toBe(before);
  });

  it('a redirect to another port of the same public host is followed, re-checked like any hop', async () => {
    const before = publicOtherPort.accepted;
    expect(await resolver.handle.resolveHttp('redir-port.example.com')).toBe(DID);
    expect(publicOtherPort.accepted).toBeGreaterThan(before);
  });
});
