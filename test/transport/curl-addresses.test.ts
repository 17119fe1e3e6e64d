import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchRequest, DispatchResponse } from '../../src/transport/base.js';
import { CurlTransport } from '../../src/transport/curl.js';
import { ForbiddenAddressError, InternalTransportError } from '../../src/transport/errors.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';
import type { TransportOptions } from '../../src/transport/options.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * The engine inputs the DNS layer hands each request: the URL host's
 * addresses (libcurl then resolves nothing) and `forbidReuse`. The first
 * case goes through `BaseTransport`'s `DnsResolver` (a scripted DNS server
 * on loopback); the others replace what it resolved with a fixed list
 * (`RoutedTransport`), to pin the order, to hand the engine an address the
 * resolver-level SSRF filter would have dropped, and to set `forbidReuse`,
 * which `BaseTransport` does not set yet.
 */
class RoutedTransport extends CurlTransport {
  constructor(
    options: TransportOptions,
    private readonly route: { addresses?: string[]; forbidReuse?: boolean },
  ) {
    super(options);
  }

  protected override dispatch(request: DispatchRequest): Promise<DispatchResponse> {
    return super.dispatch({ ...request, ...this.route });
  }
}

describe('curl: per-request addresses and forbidReuse', () => {
  let server: TestServer;
  let dns: ScriptedDnsServer;
  let url: string;
  beforeAll(async () => {
    server = await startTestServer();
    dns = await startScriptedDns();
    // A name only the scripted server knows (.test is reserved), on the certificate.
    dns.set('only-here.example.test', { a: ['127.0.0.1'] });
    // A public answer, which the SSRF case replaces before it reaches the
    // engine: nothing ever connects to it.
    dns.set('public.example.test', { a: ['1.1.1.1'] });
    url = `https://only-here.example.test:${server.port}/status/200`;
  }, 120_000);
  afterAll(async () => {
    await dns?.close();
    await server?.close();
  });

  const trusted = (extra: TransportOptions = {}): TransportOptions => ({
    caFile: server.ca.certFile,
    dns: { nameservers: [dns.address], hostsFile: false },
    ...extra,
  });

  it('reaches a host that only resolves through the addresses the DNS layer hands the engine', async () => {
    const t = new CurlTransport(trusted({ allowPrivateNetwork: true }));
    const res = await t.request(url);
    expect(res.status).toBe(200);
    expect(dns.queries.get('only-here.example.test')).toBeGreaterThan(0);
    await t.close();
  });

  it('falls back to the next address when the first refuses (libcurl 7.75+; older ones get only the first)', async () => {
    const load = loadNativeAddon();
    if (!load.ok) throw new Error(load.reason);
    const [major, minor] = load.addon.curlVersion.split('.').map(Number);
    const expiring = (major ?? 0) > 7 || (minor ?? 0) >= 75;
    const t = new RoutedTransport(trusted({ allowPrivateNetwork: true }), { addresses: ['127.0.0.2', '127.0.0.1'] });
    const outcome = await t.request(url).then((res) => res.status, (error: Error) => error.name);
    expect(outcome).toBe(expiring ? 200 : 'ConnectError');
    await t.close();
  });

  it('the SSRF socket check still refuses a loopback address given this way, unless allowPrivateNetwork', async () => {
    // The resolver-level filter passes the public answer; the engine gets loopback.
    const publicUrl = `https://public.example.test:${server.port}/status/200`;
    const guarded = new RoutedTransport(trusted(), { addresses: ['127.0.0.1'] });
    const error = await guarded.request(publicUrl).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenAddressError);
    expect(error).toMatchObject({ address: '127.0.0.1', addressClass: 'loopback' });
    expect((error as Error).message).toMatch(/^refused to connect to loopback address 127\.0\.0\.1/); // the engine's words
    await guarded.close();
    const mapped = new RoutedTransport(trusted(), { addresses: ['::ffff:127.0.0.1'] });
    await expect(mapped.request(publicUrl)).rejects.toBeInstanceOf(ForbiddenAddressError);
    await mapped.close();
  });

  it('refuses an address that is not an IP literal', async () => {
    const t = new RoutedTransport(trusted({ allowPrivateNetwork: true }), { addresses: ['localhost'] });
    const error = await t.request(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalTransportError);
    expect((error as Error).message).toMatch(/addresses/);
    await t.close();
  });

  it('forbidReuse closes the connection after the exchange', async () => {
    const t = new RoutedTransport(trusted({ allowPrivateNetwork: true }), { addresses: ['127.0.0.1'], forbidReuse: true });
    for (let i = 0; i < 3; i += 1) {
      const res = await t.request(url);
      expect(res.reusedConnection).toBe(false);
      expect(t.stats().openConnections).toBe(0);
    }
    expect(t.stats()).toMatchObject({ newConnections: 3, reusedConnections: 0 });
    await t.close();
    const pooled = new RoutedTransport(trusted({ allowPrivateNetwork: true }), { addresses: ['127.0.0.1'] });
    await pooled.request(url);
    expect((await pooled.request(url)).reusedConnection).toBe(true);
    await pooled.close();
  });
});
