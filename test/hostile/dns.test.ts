import dnsPacket from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AmbiguousHandleError, ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import { MAX_TXT_RECORDS } from '../../src/resolve/txt-records.js';
import { createTransport } from '../../src/transport/create.js';
import type { Transport } from '../../src/transport/types.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { expectTypedFailure, failOnUnhandledRejections, TIME_SLACK_MS } from './support.js';

/**
 * Hostile DNS for handles, over a real UDP server on loopback (c-ares) and
 * over DNS-over-HTTPS through the transport: TXT floods, huge TXT strings,
 * and the three ways a lookup can end without an answer, which must stay
 * distinct: NXDOMAIN (authoritative "none", may be cached), SERVFAIL and
 * timeout (transient, never cached).
 */

failOnUnhandledRejections();

const DID_A = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const DID_B = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
const DNS_TIMEOUT_MS = 200;

let dns: ScriptedDnsServer;
let server: HostileServer;
let transport: Transport;
const resolvers: IdResolver[] = [];

beforeAll(async () => {
  [dns, server] = await Promise.all([startScriptedDns(), startHostileServer()]);
  // DNS-over-HTTPS served from the scripted records, plus hostile DoH answers.
  server.mode('doh', (ex) => {
    const query = Buffer.from(new URL(ex.path, 'https://x').searchParams.get('dns') ?? '', 'base64url');
    const answer = dns.answer(query);
    if (answer) ex.respond(200, { 'content-type': 'application/dns-message' }, answer);
  });
  server.mode('doh-garbage', (ex) => ex.respond(200, { 'content-type': 'application/dns-message' }, 'not a dns message'));
  server.mode('doh-cname-loop', (ex) => {
    const query = dnsPacket.decode(Buffer.from(new URL(ex.path, 'https://x').searchParams.get('dns') ?? '', 'base64url'));
    const name = query.questions?.[0]?.name ?? '';
    const answers: dnsPacket.Answer[] = [
      { type: 'CNAME', name, data: 'b.loop.test' },
      { type: 'CNAME', name: 'b.loop.test', data: name },
      ...Array.from({ length: 100 }, (_, i): dnsPacket.Answer => ({ type: 'CNAME', name: `c${i}.loop.test`, data: `c${i + 1}.loop.test` })),
      { type: 'TXT', name: 'b.loop.test', data: [`did=${DID_A}`] },
    ];
    ex.respond(200, { 'content-type': 'application/dns-message' }, dnsPacket.encode({ type: 'response', id: 0, flags: 0, questions: query.questions, answers }));
  });
  transport = createTransport({
    caFile: server.ca.certFile,
    allowPrivateNetwork: true,
    connectTo: { '*.handle.test:443': `127.0.0.1:${server.port}`, '*.web.test:443': `127.0.0.1:${server.port}` },
  });
});
afterAll(async () => {
  await Promise.all(resolvers.map((r) => r.close()));
  await transport?.destroy();
  await Promise.all([dns?.close(), server?.close()]);
});
afterEach(() => dns.queries.clear());

function resolver(options: IdResolverOptions = {}): IdResolver {
  const r = new IdResolver({
    transport,
    allowTestTlds: true,
    timeoutMs: 1_000,
    dns: { nameservers: [dns.address], timeoutMs: DNS_TIMEOUT_MS, tries: 1 },
    ...options,
  });
  resolvers.push(r);
  return r;
}

/** A TXT value as the 255-byte character strings DNS carries it in. */
function strings(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out;
}

describe.each([
  ['UDP (c-ares)', (): IdResolver => resolver()],
  ['DNS-over-HTTPS', (): IdResolver => resolver({ dns: { dohUrl: 'https://doh.web.test/dns-query' } })],
] as const)('%s', (_name, make) => {
  it('a flood of 100 TXT records: the DID among them is found, the rest ignored', async () => {
    dns.set('_atproto.flood.handle.test', {
      txt: [[`did=${DID_A}`], ...Array.from({ length: 99 }, (_, i) => [`v=spf1 include:junk${i}.example ~all`])],
    });
    expect(await make().handle.resolveDns('flood.handle.test')).toBe(DID_A);
  });

  it(`only the first ${MAX_TXT_RECORDS} records are read: a DID in record 100 is not seen`, async () => {
    dns.set('_atproto.late.handle.test', { txt: [...Array.from({ length: 99 }, (_, i) => [`junk ${i}`]), [`did=${DID_A}`]] });
    expect(await make().handle.resolveDns('late.handle.test')).toBeUndefined();
  });

  it('100 records naming different DIDs: AmbiguousHandleError with a bounded list', async () => {
    dns.set('_atproto.many.handle.test', {
      txt: Array.from({ length: 100 }, (_, i) => [`did=did:plc:${String(i).padStart(24, 'a').replace(/\d/g, (d) => 'bcdefghijk'[Number(d)] ?? 'z')}`]),
    });
    const error = await make().handle.resolveDns('many.handle.test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousHandleError);
    expect((error as AmbiguousHandleError).dids.length).toBeLessThanOrEqual(4);
    expect((error as Error).message.length).toBeLessThan(1_000);
  });

  it('huge TXT strings: an 8 KB record is no DID; a DID split across strings is joined', async () => {
    dns.set('_atproto.huge.handle.test', { txt: [strings(`did=did:plc:${'a'.repeat(8_000)}`)] });
    expect(await make().handle.resolveDns('huge.handle.test')).toBeUndefined();
    dns.set('_atproto.split.handle.test', { txt: [['did=did:plc:', 'ewvi7nxzyoun6zhxrhs64oiz']] });
    expect(await make().handle.resolveDns('split.handle.test')).toBe(DID_A);
  });

  it('NUL bytes and binary junk in TXT data are no DID', async () => {
    dns.set('_atproto.nul.handle.test', {
      txt: [[`did=${DID_A}\u0000${DID_B}`], [Buffer.from([0x64, 0x69, 0x64, 0x3d, 0xff, 0xfe, 0x00])]],
    });
    expect(await make().handle.resolveDns('nul.handle.test')).toBeUndefined();
  });

  it('NXDOMAIN and NODATA are an authoritative "none"', async () => {
    expect(await make().handle.resolveDns('nxdomain.handle.test')).toBeUndefined();
    dns.set('_atproto.nodata.handle.test', { a: ['192.0.2.1'] });
    expect(await make().handle.resolveDns('nodata.handle.test')).toBeUndefined();
  });

  it.each(['SERVFAIL', 'REFUSED'] as const)('%s is a transient ResolutionFailedError, in time', async (rcode) => {
    dns.set(`_atproto.${rcode.toLowerCase()}.handle.test`, { rcode });
    const error = await expectTypedFailure(
      rcode,
      () => make().handle.resolveDns(`${rcode.toLowerCase()}.handle.test`),
      ResolutionFailedError,
      1_000 + TIME_SLACK_MS,
    );
    expect(error.message).toMatch(new RegExp(`${rcode.slice(0, 5)}|HTTP`, 'i'));
  });
});

describe('UDP (c-ares): the three endings stay distinct', () => {
  it('a server that never answers: ResolutionFailedError (ETIMEOUT) after timeoutMs × tries', async () => {
    dns.set('_atproto.silent.handle.test', { drop: true });
    const error = await expectTypedFailure(
      'dns timeout',
      () => resolver().handle.resolveDns('silent.handle.test'),
      ResolutionFailedError,
      DNS_TIMEOUT_MS + TIME_SLACK_MS,
    );
    expect(error.cause).toMatchObject({ code: 'DNS', reason: 'TIMEOUT' });
    expect(dns.queries.get('_atproto.silent.handle.test')).toBe(1);
  });

  it('SERVFAIL keeps its code in the cause', async () => {
    dns.set('_atproto.sf.handle.test', { rcode: 'SERVFAIL' });
    const error = await resolver().handle.resolveDns('sf.handle.test').catch((e: unknown) => e);
    expect((error as Error).cause).toMatchObject({ code: 'DNS', reason: 'SERVER_FAILURE', cause: { code: 'ESERVFAIL' } });
  });

  it('with a cache, NXDOMAIN is remembered briefly and SERVFAIL / timeout are not', async () => {
    const r = resolver({ handleStrategy: 'dns-first' });
    // HTTPS has no answer for these names either (404 from the hostile server).
    expect(await r.handle.resolve('gone.handle.test')).toBeUndefined();
    expect(await r.handle.resolve('gone.handle.test')).toBeUndefined();
    expect(dns.queries.get('_atproto.gone.handle.test')).toBe(1);
    for (const [name, record] of [
      ['flaky', { rcode: 'SERVFAIL' as const }],
      ['mute', { drop: true as const }],
    ] as const) {
      dns.set(`_atproto.${name}.handle.test`, record);
      await expect(r.handle.resolve(`${name}.handle.test`)).rejects.toBeInstanceOf(ResolutionFailedError);
      await expect(r.handle.resolve(`${name}.handle.test`)).rejects.toBeInstanceOf(ResolutionFailedError);
      expect(dns.queries.get(`_atproto.${name}.handle.test`)).toBe(2);
    }
    expect(r.stats().resolutions.handle).toMatchObject({ not_found: 2, error: 4 });
  });
});

describe('DNS-over-HTTPS: hostile DoH answers', () => {
  it('an answer that is not a DNS message is a transient ResolutionFailedError', async () => {
    const r = resolver({ dns: { dohUrl: 'https://doh-garbage.web.test/dns-query' } });
    await expect(r.handle.resolveDns('any.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
  });

  it('a CNAME loop inside the answer is followed a bounded number of hops', async () => {
    const r = resolver({ dns: { dohUrl: 'https://doh-cname-loop.web.test/dns-query' } });
    expect(await r.handle.resolveDns('loop.handle.test')).toBe(DID_A);
  });

  it('a DoH server that never answers is a TimeoutError cause, in time', async () => {
    const r = resolver({ timeoutMs: 300, dns: { dohUrl: 'https://silent.web.test/dns-query' } });
    const error = await expectTypedFailure('doh silent', () => r.handle.resolveDns('any.handle.test'), ResolutionFailedError, 300 + TIME_SLACK_MS);
    expect((error.cause as Error).name).toBe('TimeoutError');
  });
});
