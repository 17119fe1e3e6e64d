import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { DnsError } from '../../src/transport/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { implementations } from '../transport/implementations.js';

/**
 * The well-known host's own DNS answer decides "not found" or "try again",
 * through the transport's real name resolution. Runs only inside the
 * namespace of `scripts/netns-run.mjs` (`npm run test:netns`), where the
 * system resolver is the scripted DNS server on 127.0.0.1:53 and 1.2.3.4
 * is a "public" address on `lo`.
 *
 * - NXDOMAIN for the host is definitive: "none", cached as not found;
 * - SERVFAIL is transient: ResolutionFailedError, nothing cached, and the
 *   handle resolves as soon as the DNS answers again.
 *
 * Both transports: names are resolved by atresolve's own DNS layer
 * (`src/dns`), whose DnsError always says why a lookup failed.
 */

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const PUBLIC_V4 = '1.2.3.4';

let ca: TestCa;
let dns: ScriptedDnsServer;
let host: HostileServer;

beforeAll(async () => {
  if (process.env.ATRESOLVE_NETNS !== '1') {
    throw new Error('this file runs only inside the test namespace: npm run test:netns (scripts/netns-run.mjs)');
  }
  ca = await createTestCa({ commonName: 'atresolve netns CA' });
  dns = await startScriptedDns({ host: '127.0.0.1', port: 53 });
  host = await startHostileServer({ ca, dnsNames: ['*.example.com'], ips: [PUBLIC_V4], host: PUBLIC_V4, port: 443, defaultMode: 'public' });
  host.mode('public', (ex) => ex.respond(200, { 'content-type': 'text/plain' }, DID));
});

afterAll(async () => {
  await host?.close();
  await dns?.close();
  await ca?.dispose();
});

describe.each(implementations)('$name transport: the well-known host does not resolve', ({ create }) => {
  let transport: Transport;
  let resolver: IdResolver;
  beforeAll(() => {
    // A SERVFAIL is not remembered, so the test sees the DNS answer again at once.
    transport = create({ caFile: ca.certFile, dnsCacheTtlMs: 0, timeoutMs: 3_000, dns: { failureTtlMs: 0 } });
    // The handle's TXT lookups go to the same scripted server (system DNS), which has no _atproto records.
    resolver = new IdResolver({ transport, cache: {}, timeoutMs: 3_000 });
  });
  afterAll(async () => {
    await resolver.close();
    await transport.destroy();
  });

  it('NXDOMAIN for the host is "not found", cached', async () => {
    expect(await resolver.handle.resolveHttp('nxdomain.example.com')).toBeUndefined();
    expect(await resolver.handle.resolve('nxdomain.example.com')).toBeUndefined();
    const queries = dns.queries.get('nxdomain.example.com');
    expect(await resolver.handle.resolve('nxdomain.example.com')).toBeUndefined();
    expect(dns.queries.get('nxdomain.example.com')).toBe(queries);
    expect(resolver.stats().cache.handle).toMatchObject({ negativeHits: 1 });
  });

  it('SERVFAIL for the host is transient: nothing cached, resolved once the DNS answers', async () => {
    dns.set('flaky.example.com', { rcode: 'SERVFAIL' });
    const error = await resolver.handle.resolveHttp('flaky.example.com').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    const cause = (error as Error).cause as DnsError;
    expect(cause).toBeInstanceOf(DnsError);
    expect(cause.definitive).toBe(false);
    await expect(resolver.handle.resolve('flaky.example.com')).rejects.toBeInstanceOf(ResolutionFailedError);
    dns.set('flaky.example.com', { a: [PUBLIC_V4] });
    expect(await resolver.handle.resolve('flaky.example.com')).toBe(DID);
  });
});
