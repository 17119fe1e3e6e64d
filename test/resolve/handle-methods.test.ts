import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MissingAtprotoDataError } from '../../src/document/errors.js';
import { AmbiguousHandleError, HandleNotFoundError, ResolutionFailedError } from '../../src/resolve/errors.js';
import { InvalidDidError, UnsupportedDidMethodError } from '../../src/syntax/errors.js';
import { ConnectError, TlsError } from '../../src/transport/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import { secp256k1KeyFromPrivate } from '../../src/world/keys.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startTestServer, type TestServer } from '../support/https-server.js';
import { freePort } from '../support/free-port.mjs';
import { startTcpFront } from '../support/tcp-front.js';

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

/** A resolver on the scripted servers; `routes` adds or overrides `connectTo` entries. */
function resolver(options: IdResolverOptions = {}, routes: Record<string, string> = {}): IdResolver {
  const target = `127.0.0.1:${server.port}`;
  return new IdResolver({
    allowTestTlds: true,
    cache: false,
    dns: { nameservers: [dns.address], tries: 1, timeoutMs: 300 },
    transport: {
      caFile: server.ca.certFile,
      allowPrivateNetwork: true,
      connectTo: { '*.handle.test:443': target, '*.web.test:443': target, 'doh.example.test:443': target, ...routes },
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

describe('a transient well-known failure is never a cached "not found"', () => {
  /** The handle `name` claims `did:web:<label>.web.test` over HTTPS (no DNS record), whose document declares it back. */
  function identityOverHttps(label: string): { handle: string; did: string } {
    const handle = `${label}.handle.test`;
    const host = `${label}.web.test`;
    serve(`${handle}/.well-known/atproto-did`, 200, `did:web:${host}`);
    serve(`${host}/.well-known/did.json`, 200, webDocument(host, handle));
    return { handle, did: `did:web:${host}` };
  }

  it('a refused connection: ResolutionFailedError and handleCheck "unavailable", nothing cached, verified once the host is back', async () => {
    const port = await freePort();
    await using r = resolver({ cache: {} }, { 'back.handle.test:443': `127.0.0.1:${port}` });
    const { handle, did } = identityOverHttps('back');

    const fromHandle = await r.resolveIdentity(handle).catch((e: unknown) => e);
    expect(fromHandle).toBeInstanceOf(ResolutionFailedError);
    expect((fromHandle as Error).cause).toBeInstanceOf(ConnectError);
    const fromDid = await r.resolveIdentity(did);
    expect(fromDid).toMatchObject({ did, handle: 'handle.invalid', handleCheck: 'unavailable', declaredHandle: handle });
    expect(fromDid.handleError).toBeInstanceOf(ResolutionFailedError);
    expect(r.stats().cache.handle).toMatchObject({ entries: 0, negativeHits: 0 });

    const front = await startTcpFront(server.port, port);
    try {
      expect(await r.resolveIdentity(handle)).toMatchObject({ did, handle, handleCheck: 'verified' });
      expect(await r.resolveIdentity(did)).toMatchObject({ did, handle, handleCheck: 'verified', handleError: undefined });
    } finally {
      await front.close();
    }
  });

  it('an untrusted certificate: ResolutionFailedError (cause TlsError), nothing cached', async () => {
    const stranger = await startTestServer();
    try {
      await using r = resolver({ cache: {} }, { 'untrusted.handle.test:443': `127.0.0.1:${stranger.port}` });
      const { handle, did } = identityOverHttps('untrusted');
      for (let i = 0; i < 2; i += 1) {
        const error = await r.handle.resolve(handle).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ResolutionFailedError);
        expect((error as Error).cause).toBeInstanceOf(TlsError);
      }
      expect(stranger.handshakes + stranger.accepted).toBeGreaterThanOrEqual(2);
      expect((await r.resolveIdentity(did)).handleCheck).toBe('unavailable');
      expect(r.stats().cache.handle).toMatchObject({ entries: 0, misses: 3 });
    } finally {
      await stranger.close();
    }
  });

  it('an HTTP 404 and a body that is not a DID are "not found", cached for negativeTtlMs', async () => {
    await using r = resolver({ cache: {} });
    serve('junk.handle.test/.well-known/atproto-did', 200, '<html>parked domain</html>');
    for (const handle of ['gone.handle.test', 'junk.handle.test']) {
      expect(await r.handle.resolve(handle)).toBeUndefined();
      expect(await r.handle.resolve(handle)).toBeUndefined();
      expect(hostHits.get(`${handle}/.well-known/atproto-did`)).toBe(1);
      await expect(r.resolveIdentity(handle)).rejects.toBeInstanceOf(HandleNotFoundError);
    }
    expect(r.stats().cache.handle).toMatchObject({ entries: 2, negativeHits: 4 });
  });

  it('from a DID, a handle that names another DID is a "mismatch", and a document without a handle "undeclared"', async () => {
    await using r = resolver();
    serve('other.web.test/.well-known/did.json', 200, webDocument('other.web.test', 'other.handle.test'));
    serve('other.handle.test/.well-known/atproto-did', 200, DID_A);
    expect(await r.resolveIdentity('did:web:other.web.test')).toMatchObject({ handle: 'handle.invalid', handleCheck: 'mismatch', handleError: undefined });
    const bare = JSON.parse(webDocument('bare.web.test', 'x.handle.test')) as Record<string, unknown>;
    delete bare.alsoKnownAs;
    serve('bare.web.test/.well-known/did.json', 200, JSON.stringify(bare));
    expect(await r.resolveIdentity('did:web:bare.web.test')).toMatchObject({ handle: 'handle.invalid', handleCheck: 'undeclared' });
  });
});

describe('a handle that names a DID atresolve cannot resolve', () => {
  const DID_KEY = 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme';

  it.each([
    ['key', DID_KEY, UnsupportedDidMethodError],
    ['other-method', 'did:example:123456', UnsupportedDidMethodError],
    ['upper', 'did:plc:AAAAAAAAAAAAAAAAAAAAAAAA', InvalidDidError],
    ['web-localhost', 'did:web:localhost', InvalidDidError],
  ] as const)('%s: the handle has no usable DID (HandleNotFoundError with the remote value), not an input error', async (label, claimed, causeClass) => {
    await using r = resolver({ handleStrategy: 'dns-first' });
    const handle = `${label}.handle.test`;
    dns.set(`_atproto.${handle}`, { txt: [[`did=${claimed}`]] });
    // The raw step returns what the handle claims, as @atproto/identity does.
    expect(await r.handle.resolve(handle)).toBe(claimed);
    const error = await r.resolveIdentity(handle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandleNotFoundError);
    expect((error as HandleNotFoundError).claimedDid).toBe(claimed);
    expect((error as Error).cause).toBeInstanceOf(causeClass);
    expect((error as Error).message).toContain(claimed.slice(0, 20));
    expect(r.stats().resolutions.identity).toMatchObject({ not_found: 1, invalid: 0 });
  });

  it('the same from the HTTPS well-known', async () => {
    await using r = resolver({ handleStrategy: 'https-first' });
    serve('wk-key.handle.test/.well-known/atproto-did', 200, DID_KEY);
    const error = await r.resolveIdentity('wk-key.handle.test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandleNotFoundError);
    expect((error as HandleNotFoundError).claimedDid).toBe(DID_KEY);
  });
});

describe('atproto data of a document that lacks a field', () => {
  it('resolveAtprotoData gives undefined; resolveAtprotoKey and ensureResolveAtprotoData throw MissingAtprotoDataError', async () => {
    await using r = resolver();
    const keyless = JSON.parse(webDocument('keyless.web.test', 'keyless.handle.test')) as Record<string, unknown>;
    keyless.verificationMethod = [];
    serve('keyless.web.test/.well-known/did.json', 200, JSON.stringify(keyless));
    const did = 'did:web:keyless.web.test';
    expect(await r.did.resolveAtprotoData(did)).toMatchObject({ handle: 'keyless.handle.test', signingKey: undefined });
    for (const call of [() => r.did.resolveAtprotoKey(did), () => r.did.ensureResolveAtprotoData(did)]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingAtprotoDataError);
      expect(error).toMatchObject({ code: 'MISSING_ATPROTO_DATA', did, field: 'signingKey' });
    }
    const pdsless = JSON.parse(webDocument('pdsless.web.test', 'pdsless.handle.test')) as Record<string, unknown>;
    pdsless.service = [];
    serve('pdsless.web.test/.well-known/did.json', 200, JSON.stringify(pdsless));
    await expect(r.did.ensureResolveAtprotoData('did:web:pdsless.web.test')).rejects.toMatchObject({ field: 'pds' });
  });
});
