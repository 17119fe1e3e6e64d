import { readdirSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostsFile, parseHosts } from '../../src/dns/hosts-file.js';
import { resolveDnsOptions, type DnsOptions } from '../../src/dns/options.js';
import { DnsResolver } from '../../src/dns/resolver.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { CurlTransport } from '../../src/transport/curl.js';
import { AbortError, DnsError } from '../../src/transport/errors.js';
import { UndiciTransport } from '../../src/transport/undici.js';
import { rejection, sleep, waitFor } from '../support/async.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';

/**
 * The DNS layer against a real DNS server on loopback (scripted per name):
 * answers, caching by TTL, failures, deadlines, bounds and fairness.
 */

let dns: ScriptedDnsServer;
const open: DnsResolver[] = [];

beforeAll(async () => {
  dns = await startScriptedDns();
});
afterAll(async () => {
  await dns.close();
});
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function resolver(options: DnsOptions = {}): DnsResolver {
  const r = new DnsResolver(resolveDnsOptions({ nameservers: [dns.address], hostsFile: false, ...options }, 'dns'));
  open.push(r);
  return r;
}

let serial = 0;
/** A fresh name, so answers cached by an earlier case never interfere. */
function fresh(label: string, zone = 'dns.test'): string {
  serial += 1;
  return `${label}-${serial}.${zone}`;
}

describe('answers', () => {
  it('returns IPv4 then IPv6 addresses, or one family when asked', async () => {
    const name = fresh('both');
    dns.set(name, { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1'] });
    expect(await resolver().lookup(name)).toEqual(['192.0.2.1', '192.0.2.2', '2001:db8::1']);
    expect(await resolver({ family: 4 }).lookup(name)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(await resolver({ family: 6 }).lookup(name)).toEqual(['2001:db8::1']);
  });

  it('answers IP literals and upper-case or dotted names without a query', async () => {
    const r = resolver();
    expect(await r.lookup('192.0.2.7')).toEqual(['192.0.2.7']);
    expect(await r.lookup('[2001:db8::7]')).toEqual(['2001:db8::7']);
    const name = fresh('case');
    dns.set(name, { a: ['192.0.2.3'] });
    expect(await r.lookup(`${name.toUpperCase()}.`)).toEqual(['192.0.2.3']);
    expect(r.stats()).toMatchObject({ lookups: 3, queries: 1 });
  });

  it('NXDOMAIN is a definitive NOT_FOUND; a name with no address a definitive NO_DATA', async () => {
    const r = resolver();
    const gone = await rejection(r.lookup(fresh('gone')));
    expect(gone).toBeInstanceOf(DnsError);
    expect(gone).toMatchObject({ reason: 'NOT_FOUND', definitive: true });
    const txtOnly = fresh('txtonly');
    dns.set(txtOnly, { txt: [['hello']] });
    expect(await rejection(r.lookup(txtOnly))).toMatchObject({ reason: 'NO_DATA', definitive: true });
  });

  it('SERVFAIL and REFUSED are transient SERVER_FAILUREs, with the DNS code in the cause', async () => {
    const r = resolver();
    for (const rcode of ['SERVFAIL', 'REFUSED'] as const) {
      const name = fresh(rcode.toLowerCase());
      dns.set(name, { rcode });
      const error = await rejection(r.lookup(name));
      expect(error).toMatchObject({ reason: 'SERVER_FAILURE', definitive: false, cause: { code: `E${rcode}` } });
    }
  });

  it('one family failing does not hide the other', async () => {
    const name = fresh('v4only');
    dns.set(name, { a: ['192.0.2.9'] });
    expect(await resolver().lookup(name)).toEqual(['192.0.2.9']);
  });

  it('TXT records come back as lists of strings, and are not cached', async () => {
    const r = resolver();
    const name = fresh('_atproto.txt');
    dns.set(name, { txt: [['did=did:plc:', 'abc'], ['other']] });
    expect(await r.resolveTxt(name)).toEqual([['did=did:plc:', 'abc'], ['other']]);
    await r.resolveTxt(name);
    expect(dns.queries.get(name)).toBe(2);
    expect(await rejection(r.resolveTxt(fresh('_atproto.none')))).toMatchObject({ reason: 'NOT_FOUND' });
  });
});

describe('cache', () => {
  it('keeps an answer up to its TTL and maxTtlMs, and clear() empties it', async () => {
    const r = resolver({ maxTtlMs: 300 });
    const name = fresh('cached');
    dns.set(name, { a: ['192.0.2.10'], ttl: 3600 });
    await r.lookup(name);
    await r.lookup(name);
    expect(dns.queries.get(name)).toBe(2); // A + AAAA, once
    expect(r.stats()).toMatchObject({ cacheHits: 1, cacheEntries: 1 });
    await sleep(350); // maxTtlMs caps the one-hour TTL
    await r.lookup(name);
    expect(dns.queries.get(name)).toBe(4);
    r.clear();
    expect(r.stats().cacheEntries).toBe(0);
    await r.lookup(name);
    expect(dns.queries.get(name)).toBe(6);
  });

  it('a TTL of 0 is not cached; maxTtlMs 0 caches nothing', async () => {
    const name = fresh('ttl0');
    dns.set(name, { a: ['192.0.2.11'], ttl: 0 });
    const r = resolver();
    await r.lookup(name);
    await r.lookup(name);
    expect(dns.queries.get(name)).toBe(4);
    const other = fresh('nocache');
    dns.set(other, { a: ['192.0.2.12'] });
    const none = resolver({ maxTtlMs: 0 });
    await none.lookup(other);
    await none.lookup(other);
    expect(dns.queries.get(other)).toBe(4);
  });

  it('remembers "no such name" for negativeTtlMs and a failure for failureTtlMs', async () => {
    const r = resolver({ negativeTtlMs: 60_000, failureTtlMs: 200 });
    const gone = fresh('neg');
    await rejection(r.lookup(gone));
    const again = await rejection(r.lookup(gone));
    expect(again).toMatchObject({ reason: 'NOT_FOUND' });
    expect(again.message).toMatch(/remembered/);
    expect(dns.queries.get(gone)).toBe(2);

    const broken = fresh('sf');
    dns.set(broken, { rcode: 'SERVFAIL' });
    await rejection(r.lookup(broken));
    await rejection(r.lookup(broken));
    expect(dns.queries.get(broken)).toBe(2);
    await sleep(250);
    dns.set(broken, { a: ['192.0.2.13'] });
    expect(await r.lookup(broken)).toEqual(['192.0.2.13']);
  });

  it('holds at most cacheEntries names', async () => {
    const r = resolver({ cacheEntries: 5 });
    for (let i = 0; i < 12; i += 1) {
      const name = fresh('many');
      dns.set(name, { a: ['192.0.2.14'] });
      await r.lookup(name);
    }
    expect(r.stats().cacheEntries).toBe(5);
  });

  it('concurrent lookups of one name share one query', async () => {
    const r = resolver();
    const name = fresh('shared');
    dns.set(name, { delayMs: 50, then: { a: ['192.0.2.15'] } });
    const answers = await Promise.all(Array.from({ length: 10 }, () => r.lookup(name)));
    expect(new Set(answers.map((a) => a.join()))).toEqual(new Set(['192.0.2.15']));
    expect(dns.queries.get(name)).toBe(2);
    expect(r.stats().queries).toBe(1);
  });
});

describe('time limits', () => {
  it('a silent server: TIMEOUT after timeoutMs × tries, and the query is counted until c-ares gives up', async () => {
    const r = resolver({ timeoutMs: 100, tries: 2 });
    const name = fresh('silent');
    dns.set(name, { drop: true });
    const started = performance.now();
    const error = await rejection(r.lookup(name));
    const took = performance.now() - started;
    expect(error).toMatchObject({ code: 'DNS', reason: 'TIMEOUT', definitive: false });
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(200 + 150);
  });

  it("the caller's shorter deadline ends its wait; the abandoned query still counts in flight", async () => {
    const r = resolver({ timeoutMs: 400, tries: 1 });
    const name = fresh('slow');
    dns.set(name, { drop: true });
    const started = performance.now();
    const error = await rejection(r.lookup(name, { timeoutMs: 50 }));
    expect(performance.now() - started).toBeLessThan(50 + 100);
    expect(error).toMatchObject({ reason: 'TIMEOUT' });
    expect(r.stats()).toMatchObject({ inFlight: 1, abandoned: 1 });
    // c-ares gives up on its own schedule (here within about 2 × timeoutMs).
    await waitFor('c-ares to give up', () => r.stats().inFlight === 0, 3_000);
    expect(r.stats()).toMatchObject({ inFlight: 0, abandoned: 0 });
  });

  it('an abort ends the wait at once with AbortError', async () => {
    const r = resolver({ timeoutMs: 2000 });
    const name = fresh('abort');
    dns.set(name, { drop: true });
    const controller = new AbortController();
    const pending = rejection(r.lookup(name, { signal: controller.signal }));
    await sleep(20);
    const started = performance.now();
    controller.abort(new Error('caller gave up'));
    const error = await pending;
    expect(performance.now() - started).toBeLessThan(50);
    expect(error).toBeInstanceOf(AbortError);
    expect(await rejection(r.lookup(name, { signal: controller.signal }))).toBeInstanceOf(AbortError);
  });

  it('close() cancels lookups in flight and refuses new ones', async () => {
    const r = resolver({ timeoutMs: 2000 });
    const name = fresh('closing');
    dns.set(name, { drop: true });
    const pending = rejection(r.lookup(name));
    await sleep(20);
    const started = performance.now();
    r.close();
    expect(await pending).toBeInstanceOf(DnsError);
    expect(performance.now() - started).toBeLessThan(100);
    expect(await rejection(r.lookup(fresh('after')))).toMatchObject({ message: expect.stringMatching(/closed/) });
  });
});

describe('bounds and fairness', () => {
  it('beyond maxInFlight a lookup fails at once with OVERLOADED instead of waiting', async () => {
    const r = resolver({ maxInFlight: 3, timeoutMs: 300, tries: 1 });
    const dead = Array.from({ length: 3 }, (_, i) => {
      const name = fresh(`full${i}`, `full${i}.test`);
      dns.set(name, { drop: true });
      return rejection(r.lookup(name));
    });
    const started = performance.now();
    const refused = await rejection(r.lookup(fresh('extra', 'extra.test')));
    expect(performance.now() - started).toBeLessThan(50);
    expect(refused).toMatchObject({ reason: 'OVERLOADED', definitive: false });
    await Promise.all(dead);
  });

  it('names of a failing domain wait behind each other; other domains never wait', async () => {
    const r = resolver({ maxInFlightPerFailingDomain: 1, timeoutMs: 300, tries: 1, failureTtlMs: 0 });
    // One timeout marks dead.test failing.
    const first = fresh('d', 'dead.test');
    dns.set(first, { drop: true });
    await rejection(r.lookup(first));
    // Now three more dead names of that domain and a healthy name elsewhere, at once.
    const dead = Array.from({ length: 3 }, () => {
      const name = fresh('d', 'dead.test');
      dns.set(name, { drop: true });
      return { name, result: rejection(r.lookup(name, { timeoutMs: 1_000 })) };
    });
    const healthy = fresh('ok', 'alive.test');
    dns.set(healthy, { a: ['192.0.2.20'] });
    const started = performance.now();
    expect(await r.lookup(healthy)).toEqual(['192.0.2.20']);
    expect(performance.now() - started).toBeLessThan(100);
    // Only one name of dead.test is at the server; the others wait.
    await sleep(50);
    expect(dead.filter((d) => dns.queries.has(d.name))).toHaveLength(1);
    expect(r.stats().waiting).toBe(2);
    const errors = await Promise.all(dead.map((d) => d.result));
    for (const error of errors) expect(error).toMatchObject({ reason: 'TIMEOUT' });
    expect(r.stats()).toMatchObject({ waiting: 0, failingDomains: 1 });
  });

  it('an answer from a failing domain clears its mark', async () => {
    const r = resolver({ maxInFlightPerFailingDomain: 1, timeoutMs: 200, tries: 1, failureTtlMs: 0 });
    const dead = fresh('d', 'flaky.test');
    dns.set(dead, { drop: true });
    await rejection(r.lookup(dead));
    expect(r.stats().failingDomains).toBe(1);
    const back = fresh('ok', 'flaky.test');
    dns.set(back, { a: ['192.0.2.21'] });
    await r.lookup(back);
    expect(r.stats().failingDomains).toBe(0);
  });

  it('200 dead names in flight start no thread', async () => {
    const threads = (): number => readdirSync('/proc/self/task').length;
    const r = resolver({ timeoutMs: 300, tries: 1 });
    const before = threads();
    const dead = Array.from({ length: 200 }, (_, i) => {
      const name = fresh('t', `thread${i}.test`);
      dns.set(name, { drop: true });
      return rejection(r.lookup(name));
    });
    await sleep(50);
    expect(r.stats().inFlight).toBe(200);
    expect(threads()).toBeLessThanOrEqual(before);
    await Promise.all(dead);
  });
});

describe('hosts file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atresolve-hosts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers names it lists before DNS', async () => {
    const file = join(dir, 'hosts');
    await writeFile(file, '# comment\n192.0.2.30  pinned.test alias.test\n2001:db8::30 pinned.test\nnot-an-ip bogus.test\n');
    const r = resolver({ hostsFile: file });
    expect(await r.lookup('pinned.test')).toEqual(['192.0.2.30', '2001:db8::30']);
    expect(await r.lookup('ALIAS.test')).toEqual(['192.0.2.30']);
    expect(dns.queries.has('pinned.test')).toBe(false);
    expect(r.stats().hostsHits).toBe(2);
    expect(await rejection(r.lookup('bogus.test'))).toMatchObject({ reason: 'NOT_FOUND' });
  });

  it('is read again when it changes', async () => {
    const file = join(dir, 'hosts2');
    await writeFile(file, '192.0.2.31 moving.test\n');
    const hosts = new HostsFile(file, 0);
    expect(hosts.lookup('moving.test')).toEqual({ v4: ['192.0.2.31'], v6: [] });
    await writeFile(file, '192.0.2.32 moving.test\n');
    await utimes(file, new Date(), new Date(Date.now() + 10_000));
    expect(hosts.lookup('moving.test')).toEqual({ v4: ['192.0.2.32'], v6: [] });
  });

  it('parses the format glibc reads', () => {
    const names = parseHosts('127.0.0.1 localhost\n::1 localhost ip6-localhost # trailing\n\tfe80::1%lo0 link\n');
    expect(names.get('localhost')).toEqual({ v4: ['127.0.0.1'], v6: ['::1'] });
    expect(names.get('ip6-localhost')).toEqual({ v4: [], v6: ['::1'] });
    expect(names.has('link')).toBe(false);
  });
});

describe('options', () => {
  it.each([
    ['_', /not an IP address/],
    ['1.2.3.4:99999', /port must be between 1 and 65535/],
    ['127.0.0.1:0', /port must be between 1 and 65535/],
    ['127.0.0.1:x', /port is not a number/],
    ['[::1', /unclosed/],
    ['[::1]x', /expected :port/],
    ['dns.example.com', /host names cannot be DNS servers/],
    ['', /empty string/],
  ])('rejects nameserver %j naming dns.nameservers', (entry, why) => {
    let error: unknown;
    try {
      resolveDnsOptions({ nameservers: ['127.0.0.1', entry] }, 'resolver.dns');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', option: 'resolver.dns.nameservers[1]' });
    expect((error as Error).message).toMatch(why);
  });

  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:5353', '127.0.0.1:5353'],
    ['::1', '::1'],
    ['[::1]', '[::1]'],
    ['[::1]:53', '[::1]:53'],
  ])('accepts nameserver %j', (entry, normalized) => {
    expect(resolveDnsOptions({ nameservers: [entry] }, 'dns').nameservers).toEqual([normalized]);
  });

  it('the resolver and both transports reject a bad nameserver before starting anything, naming it as written', () => {
    expect(() => new IdResolver({ dns: { nameservers: ['127.0.0.1:0'] } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', option: 'dns.nameservers[0]' }),
    );
    for (const Transport of [CurlTransport, UndiciTransport]) {
      expect(() => new Transport({ dns: { nameservers: ['_'] } })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', option: 'transport.dns.nameservers[0]' }),
      );
    }
  });

  it('rejects a bad family or hosts file', () => {
    expect(() => resolveDnsOptions({ family: 5 as 4 }, 'dns')).toThrow(/dns.family/);
    expect(() => resolveDnsOptions({ hostsFile: '' }, 'dns')).toThrow(/dns.hostsFile/);
  });
});
