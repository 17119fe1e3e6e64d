import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DnsError, ForbiddenAddressError, QueueFullError } from '../../src/transport/errors.js';
import type { TransportOptions } from '../../src/transport/options.js';
import type { Transport } from '../../src/transport/types.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { implementations } from '../transport/implementations.js';

/**
 * Both transports resolve every host name through their `DnsResolver`
 * (here pointed at a scripted DNS server on loopback with
 * `dns.nameservers`): same answers, same cache rules, same errors.
 */

let dns: ScriptedDnsServer;
let server: TestServer;

beforeAll(async () => {
  [dns, server] = await Promise.all([startScriptedDns(), startTestServer()]);
});
afterAll(async () => {
  await Promise.all([dns.close(), server.close()]);
});

let serial = 0;
function host(answer: Parameters<ScriptedDnsServer['set']>[1] = { a: ['127.0.0.1'] }): string {
  serial += 1;
  const name = `h${serial}.web.test`;
  dns.set(name, answer);
  return name;
}

describe.each(implementations)('$name transport name resolution', ({ create }) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.destroy()));
  });

  function make(options: TransportOptions = {}): Transport {
    const t = create({
      caFile: server.ca.certFile,
      allowPrivateNetwork: true,
      ...options,
      dns: { nameservers: [dns.address], hostsFile: false, ...options.dns },
    });
    open.push(t);
    return t;
  }

  it('connects to the address DNS gave, with the URL host for TLS', async () => {
    const t = make();
    const name = host();
    const response = await t.request(`https://${name}:${server.port}/status/200`);
    expect(response.status).toBe(200);
    expect(dns.queries.get(name)).toBe(2); // A and AAAA, once
    expect(t.stats().dns).toMatchObject({ lookups: 1, queries: 1, cacheEntries: 1 });
  });

  it('caches answers per host, keeps them on clearConnections and drops them on reset', async () => {
    const t = make();
    const name = host();
    await t.request(`https://${name}:${server.port}/status/200`);
    await t.request(`https://${name}:${server.port}/status/200`);
    expect(dns.queries.get(name)).toBe(2);
    expect(t.stats().dnsCacheEntries).toBe(1);
    await t.clearConnections();
    expect(t.stats().dnsCacheEntries).toBe(1);
    await t.reset();
    expect(t.stats().dnsCacheEntries).toBe(0);
    await t.request(`https://${name}:${server.port}/status/200`);
    expect(dns.queries.get(name)).toBe(4);
  });

  it('refuses a request that has no room before looking its name up', async () => {
    const t = make({ maxConnections: 1, maxQueuedRequests: 0 });
    const busy = t.request(`https://${host()}:${server.port}/delay/300`);
    // Let the first request be admitted (its own lookup comes first).
    for (let i = 0; i < 50 && t.stats().admission.admitted === 0; i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(t.stats().admission.admitted).toBe(1);
    const refused = host();
    await expect(t.request(`https://${refused}:${server.port}/status/200`)).rejects.toBeInstanceOf(QueueFullError);
    expect(dns.queries.get(refused)).toBeUndefined();
    expect(t.stats().admission.shed).toBe(1);
    await expect(busy).resolves.toMatchObject({ status: 200 });
  });

  it('keeps no answer with dnsCacheTtlMs 0', async () => {
    const t = make({ dnsCacheTtlMs: 0 });
    const name = host();
    await t.request(`https://${name}:${server.port}/status/200`);
    await t.request(`https://${name}:${server.port}/status/200`);
    expect(t.stats().dnsCacheEntries).toBe(0);
    expect(dns.queries.get(name)).toBe(4);
  });

  it('NXDOMAIN is a definitive DnsError; SERVFAIL a transient one', async () => {
    const t = make();
    const gone = await t.request(`https://${host({ rcode: 'NXDOMAIN' })}:${server.port}/`).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DnsError);
    expect(gone).toMatchObject({ reason: 'NOT_FOUND', definitive: true });
    const broken = await t.request(`https://${host({ rcode: 'SERVFAIL' })}:${server.port}/`).catch((e: unknown) => e);
    expect(broken).toMatchObject({ code: 'DNS', reason: 'SERVER_FAILURE', definitive: false });
  });

  it('refuses a forbidden answer before connecting, and skips forbidden addresses among allowed ones', async () => {
    const t = make({ allowPrivateNetwork: false });
    const before = server.accepted;
    const error = await t.request(`https://${host({ a: ['127.0.0.1'] })}:${server.port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenAddressError);
    expect(error).toMatchObject({ address: '127.0.0.1', addressClass: 'loopback' });
    expect(server.accepted).toBe(before);
    expect(t.stats().errorsByCode).toEqual({ FORBIDDEN_ADDRESS: 1 });
  });
});
