import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AmbiguousHandleError, HandleNotFoundError, ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import { secp256k1KeyFromPrivate } from '../../src/world/keys.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';

/**
 * Handle resolution against servers scripted per test: a real DNS server
 * on loopback answering what each test sets, and a real HTTPS server whose
 * well-known and did:web answers are set per host.
 */

const KEY = secp256k1KeyFromPrivate(Buffer.alloc(32, 7)).publicKeyMultibase;

/** A valid did:web document for `host` that declares `handle`. */
function webDocument(host: string, handle: string): string {
  const id = `did:web:${host}`;
  return JSON.stringify({
    id,
    alsoKnownAs: [`at://${handle}`],
    verificationMethod: [{ id: `${id}#atproto`, type: 'Multikey', controller: id, publicKeyMultibase: KEY }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.example.com' }],
  });
}

let dns: ScriptedDnsServer;
let server: TestServer;
/** Per-host handlers for the HTTPS server, cleared after each test. */
const hosts = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
/** Requests received per host and path, cleared after each test. */
const hostHits = new Map<string, number>();

beforeAll(async () => {
  [dns, server] = await Promise.all([startScriptedDns(), startTestServer()]);
  const byHost = (req: IncomingMessage, res: ServerResponse): void => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const key = `${host}${req.url ?? ''}`;
    hostHits.set(key, (hostHits.get(key) ?? 0) + 1);
    const handler = hosts.get(key);
    if (handler) handler(req, res);
    else res.writeHead(404).end('not found');
  };
  server.route('/.well-known/atproto-did', byHost);
  server.route('/.well-known/did.json', byHost);
  server.route('/dns-query', (req, res) => {
    const query = Buffer.from(new URL(req.url ?? '/', 'https://x').searchParams.get('dns') ?? '', 'base64url');
    const answer = dns.answer(query);
    if (!answer) res.writeHead(400).end();
    else res.writeHead(200, { 'content-type': 'application/dns-message' }).end(answer);
  });
});
afterAll(async () => {
  await Promise.all([dns.close(), server.close()]);
});
afterEach(() => {
  hosts.clear();
  hostHits.clear();
});

function serve(hostAndPath: string, status: number, body: string, headers: Record<string, string> = {}): void {
  hosts.set(hostAndPath, (_req, res) => res.writeHead(status, headers).end(body));
}

function resolver(options: IdResolverOptions = {}): IdResolver {
  const target = `127.0.0.1:${server.port}`;
  return new IdResolver({
    allowTestTlds: true,
    cache: false,
    dns: { nameservers: [dns.address], tries: 1, timeoutMs: 300 },
    transport: {
      caFile: server.ca.certFile,
      allowPrivateNetwork: true,
      connectTo: { '*.handle.test:443': target, '*.web.test:443': target, 'doh.example.test:443': target },
    },
    ...options,
  });
}

const DID_A = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
const DID_B = 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb';

describe('DNS TXT records', () => {
  it('ignores records that do not start with did= and joins split strings', async () => {
    await using r = resolver({ handleStrategy: 'dns-first' });
    dns.set('_atproto.split.handle.test', { txt: [['v=spf1 -all'], ['did=did:plc:', 'aaaaaaaaaaaaaaaaaaaaaaaa']] });
    expect(await r.handle.resolve('split.handle.test')).toBe(DID_A);
  });

  it('several records naming one DID are fine; different DIDs are an AmbiguousHandleError', async () => {
    await using r = resolver();
    dns.set('_atproto.same.handle.test', { txt: [[`did=${DID_A}`], [`did=${DID_A}`]] });
    expect(await r.handle.resolve('same.handle.test')).toBe(DID_A);
    dns.set('_atproto.two.handle.test', { txt: [[`did=${DID_A}`], [`did=${DID_B}`]] });
    const error = await r.handle.resolve('two.handle.test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousHandleError);
    expect((error as AmbiguousHandleError).dids).toEqual([DID_A, DID_B]);
    expect(r.stats().resolutions.handle.invalid).toBe(1);
  });

  it('a did= value that is not a valid DID counts as no record', async () => {
    await using r = resolver({ handleStrategy: 'dns-first' });
    dns.set('_atproto.junk.handle.test', { txt: [['did=not a did']] });
    expect(await r.handle.resolve('junk.handle.test')).toBeUndefined();
  });

  it('NXDOMAIN is "none", SERVFAIL and silence are transient failures', async () => {
    await using r = resolver({ handleStrategy: 'dns-first' });
    expect(await r.handle.resolveDns('nx.handle.test')).toBeUndefined();
    dns.set('_atproto.fail.handle.test', { rcode: 'SERVFAIL' });
    await expect(r.handle.resolveDns('fail.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
    dns.set('_atproto.quiet.handle.test', { drop: true });
    await expect(r.handle.resolveDns('quiet.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
  });
});

describe('HTTPS well-known', () => {
  it('trims the body and requires a valid DID', async () => {
    await using r = resolver();
    serve('ok.handle.test/.well-known/atproto-did', 200, `  ${DID_A}\n`);
    expect(await r.handle.resolveHttp('ok.handle.test')).toBe(DID_A);
    serve('bad.handle.test/.well-known/atproto-did', 200, '<html>hello</html>');
    expect(await r.handle.resolveHttp('bad.handle.test')).toBeUndefined();
  });

  it('follows up to 3 redirects, each re-checked; the 4th or a redirect to http: is a transient failure', async () => {
    await using r = resolver();
    for (let i = 0; i < 4; i += 1) {
      serve(`r${i}.handle.test/.well-known/atproto-did`, 302, '', { location: `https://r${i + 1}.handle.test/.well-known/atproto-did` });
    }
    serve('r4.handle.test/.well-known/atproto-did', 200, DID_A);
    expect(await r.handle.resolveHttp('r1.handle.test')).toBe(DID_A);
    await expect(r.handle.resolveHttp('r0.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
    serve('plain.handle.test/.well-known/atproto-did', 302, '', { location: 'http://r4.handle.test/.well-known/atproto-did' });
    await expect(r.handle.resolveHttp('plain.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
  });

  it('only a 404 is "none"; a body over 2 KiB, a 500 or a 403 is a transient failure', async () => {
    await using r = resolver();
    serve('gone.handle.test/.well-known/atproto-did', 404, 'no such file');
    expect(await r.handle.resolveHttp('gone.handle.test')).toBeUndefined();
    serve('big.handle.test/.well-known/atproto-did', 200, `${DID_A}${' '.repeat(4096)}`);
    await expect(r.handle.resolveHttp('big.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
    serve('down.handle.test/.well-known/atproto-did', 500, 'oops');
    await expect(r.handle.resolveHttp('down.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
    serve('denied.handle.test/.well-known/atproto-did', 403, 'forbidden');
    const denied = await r.handle.resolveHttp('denied.handle.test').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ResolutionFailedError);
    expect((denied as ResolutionFailedError).status).toBe(403);
  });
});

describe('strategies when DNS and HTTPS disagree', () => {
  function disagree(name: string): void {
    dns.set(`_atproto.${name}`, { txt: [[`did=${DID_A}`]] });
    serve(`${name}/.well-known/atproto-did`, 200, DID_B);
  }

  it('both (default): DNS wins and the conflict is counted', async () => {
    await using r = resolver();
    disagree('both.handle.test');
    expect(await r.handle.resolve('both.handle.test')).toBe(DID_A);
    expect(r.stats().handleConflicts).toBe(1);
  });

  it('https-first: HTTPS answers without asking DNS', async () => {
    await using r = resolver({ handleStrategy: 'https-first' });
    disagree('hf.handle.test');
    expect(await r.handle.resolve('hf.handle.test')).toBe(DID_B);
    expect(dns.queries.get('_atproto.hf.handle.test')).toBeUndefined();
  });

  it('dns-first: DNS answers without asking HTTPS', async () => {
    await using r = resolver({ handleStrategy: 'dns-first' });
    disagree('df.handle.test');
    expect(await r.handle.resolve('df.handle.test')).toBe(DID_A);
    expect(hostHits.get('df.handle.test/.well-known/atproto-did')).toBeUndefined();
  });

  it('race: the first DID found wins', async () => {
    await using r = resolver({ handleStrategy: 'race' });
    dns.set('_atproto.race.handle.test', { drop: true });
    serve('race.handle.test/.well-known/atproto-did', 200, DID_B);
    expect(await r.handle.resolve('race.handle.test')).toBe(DID_B);
  });

  it('no method has a DID: HandleNotFoundError from resolveIdentity', async () => {
    await using r = resolver();
    await expect(r.resolveIdentity('nobody.handle.test')).rejects.toBeInstanceOf(HandleNotFoundError);
  });
});

describe('bidirectional verification', () => {
  it('a handle whose DID document declares it is verified', async () => {
    await using r = resolver();
    serve('alice.handle.test/.well-known/atproto-did', 200, 'did:web:alice.web.test');
    serve('alice.web.test/.well-known/did.json', 200, webDocument('alice.web.test', 'alice.handle.test'));
    expect(await r.resolveIdentity('alice.handle.test')).toMatchObject({ did: 'did:web:alice.web.test', handle: 'alice.handle.test' });
    expect(await r.resolveIdentity('did:web:alice.web.test')).toMatchObject({ handle: 'alice.handle.test' });
  });

  it('a handle claiming a DID whose document names another handle is handle.invalid', async () => {
    await using r = resolver();
    serve('mallory.handle.test/.well-known/atproto-did', 200, 'did:web:bob.web.test');
    serve('bob.web.test/.well-known/did.json', 200, webDocument('bob.web.test', 'bob.handle.test'));
    expect(await r.resolveIdentity('mallory.handle.test')).toMatchObject({
      did: 'did:web:bob.web.test',
      handle: 'handle.invalid',
      declaredHandle: 'bob.handle.test',
    });
  });

  it('a document declaring a handle that does not point back is handle.invalid', async () => {
    await using r = resolver();
    serve('carol.web.test/.well-known/did.json', 200, webDocument('carol.web.test', 'famous.handle.test'));
    serve('famous.handle.test/.well-known/atproto-did', 200, 'did:web:someone-else.web.test');
    expect(await r.resolveIdentity('did:web:carol.web.test')).toMatchObject({ handle: 'handle.invalid', declaredHandle: 'famous.handle.test' });
  });

  it('a handle that cannot be checked (DNS failing, HTTPS none) leaves the identity with handle.invalid', async () => {
    await using r = resolver();
    serve('dave.web.test/.well-known/did.json', 200, webDocument('dave.web.test', 'dave.handle.test'));
    dns.set('_atproto.dave.handle.test', { rcode: 'SERVFAIL' });
    expect(await r.resolveIdentity('did:web:dave.web.test')).toMatchObject({ did: 'did:web:dave.web.test', handle: 'handle.invalid' });
  });
});

describe('DNS over HTTPS', () => {
  it('looks TXT records up through the transport', async () => {
    await using r = resolver({ handleStrategy: 'dns-first', dns: { dohUrl: 'https://doh.example.test/dns-query' } });
    dns.set('_atproto.doh.handle.test', { txt: [[`did=${DID_A}`]] });
    expect(await r.handle.resolveDns('doh.handle.test')).toBe(DID_A);
    expect(await r.handle.resolveDns('nx-doh.handle.test')).toBeUndefined();
    dns.set('_atproto.sf-doh.handle.test', { rcode: 'SERVFAIL' });
    await expect(r.handle.resolveDns('sf-doh.handle.test')).rejects.toBeInstanceOf(ResolutionFailedError);
    expect(r.stats().transport.requests).toBe(3);
  });
});
