import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DidDocumentMismatchError, InvalidDidDocumentError, MissingAtprotoDataError } from '../../src/document/errors.js';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import type { IdResolverOptions } from '../../src/resolve/options.js';
import {
  NetworkError,
  ProtocolError,
  RedirectError,
  ResponseTooLargeError,
  TimeoutError,
  TransportError,
} from '../../src/transport/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';
import { startHostileServer, type HostileExchange, type HostileServer } from '../support/hostile-server.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';
import { implementations } from '../transport/implementations.js';
import { eventually } from '../support/async.js';
import { expectTypedFailure, failOnUnhandledRejections, TIME_SLACK_MS } from './support.js';

/**
 * Hostile did:web hosts and handle domains, through `IdResolver`: every
 * transport attack surfaces as the resolver's typed error (with the
 * transport error as `cause`), hostile documents are refused or reduced to
 * what atproto may use, a hostile well-known answer is at worst "no DID",
 * and redirects follow the transport's rules hop by hop. Both transports.
 */

failOnUnhandledRejections();

const TIMEOUT_MS = 600;
const BOUND_MS = TIMEOUT_MS + TIME_SLACK_MS;
/** A P-256 Multikey (from test/fixtures/documents/web.json). */
const KEY = 'zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb';

let ca: TestCa;
let server: HostileServer;
let plain: HostileServer;

/** A valid atproto document for the DID of the request's host, with `patch` applied. */
function documentFor(ex: HostileExchange, patch: Record<string, unknown> = {}): Record<string, unknown> {
  const did = `did:web:${ex.host}`;
  return {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: did,
    alsoKnownAs: [`at://${ex.host}`],
    verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: KEY }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.example.com' }],
    ...patch,
  };
}

/** Serve a JSON document (or raw text) at any path. */
function serveJson(name: string, build: (ex: HostileExchange) => unknown): void {
  server.mode(name, (ex) => {
    const body = build(ex);
    ex.respond(200, { 'content-type': 'application/json' }, typeof body === 'string' ? body : JSON.stringify(body));
  });
}

beforeAll(async () => {
  ca = await createTestCa({ commonName: 'atresolve hostile CA' });
  [server, plain] = await Promise.all([
    startHostileServer({ ca, trickleMs: 50 }),
    startHostileServer({ ca, plain: true }),
  ]);
  serveJson('doc-ok', (ex) => documentFor(ex));
  serveJson('doc-wrong-id', (ex) => documentFor(ex, { id: 'did:web:someone-else.web.test' }));
  serveJson('doc-deep', () => '['.repeat(100_000) + ']'.repeat(100_000));
  serveJson('doc-deep-field', (ex) => JSON.stringify(documentFor(ex)).replace(/}$/, `,"service":${'['.repeat(20_000)}${']'.repeat(20_000)}}`));
  serveJson('doc-deep-extension', (ex) => JSON.stringify(documentFor(ex)).replace(/}$/, `,"x-ext":${'['.repeat(20_000)}${']'.repeat(20_000)}}`));
  serveJson('doc-huge-array', (ex) => documentFor(ex, { alsoKnownAs: Array.from({ length: 20_000 }, (_, i) => `at://a${i}.x`) }));
  serveJson('doc-non-string', (ex) => documentFor(ex, { alsoKnownAs: [42, { at: 'x' }] }));
  serveJson('doc-id-number', () => ({ id: 12345 }));
  serveJson('doc-proto', (ex) =>
    JSON.stringify(documentFor(ex))
      .replace(/^\{/, '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},')
      .replace('"type":"Multikey"', '"type":"Multikey","__proto__":{"polluted":"yes"}'),
  );
  serveJson('doc-bad-multikey', (ex) => {
    const did = `did:web:${ex.host}`;
    return documentFor(ex, {
      verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: 'zQ3shNOTAKEY0OIl' }],
    });
  });
  serveJson('doc-dup-atproto', (ex) => {
    const did = `did:web:${ex.host}`;
    return documentFor(ex, {
      verificationMethod: [
        { id: '#atproto', type: 'Multikey', controller: did, publicKeyMultibase: 'zQ3shNOTAKEY0OIl' },
        { id: `${did}#atproto`, type: 'Multikey', controller: 'did:web:attacker.example', publicKeyMultibase: KEY },
        { id: '#atproto', type: 'Multikey', controller: did, publicKeyMultibase: KEY },
      ],
      service: [
        { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://first.example.com/xrpc' },
        { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://second.example.com' },
      ],
    });
  });
  for (const [name, endpoint] of [
    ['doc-pds-creds', 'https://user:secret@pds.example.com'],
    ['doc-pds-path', 'https://pds.example.com/xrpc/'],
    ['doc-pds-query', 'https://pds.example.com/?next=https://evil.example'],
    ['doc-pds-js', 'javascript:alert(1)'],
    ['doc-pds-backslash', 'https://pds.example.com\\@evil.example'],
  ] as const) {
    serveJson(name, (ex) =>
      documentFor(ex, { service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: endpoint }] }),
    );
  }
  // Handle well-known answers.
  server.mode('wk-ok', (ex) => ex.respond(200, { 'content-type': 'text/plain' }, 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'));
  server.mode('wk-padded', (ex) => ex.respond(200, {}, '\n  did:plc:ewvi7nxzyoun6zhxrhs64oiz \r\n'));
  server.mode('wk-nul', (ex) => ex.respond(200, {}, 'did:plc:ewvi7nxzyoun6zhxrhs64oiz\u0000did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'));
  server.mode('wk-two', (ex) => ex.respond(200, {}, 'did:plc:ewvi7nxzyoun6zhxrhs64oiz\ndid:plc:aaaaaaaaaaaaaaaaaaaaaaaa'));
  server.mode('wk-huge', (ex) => ex.respond(200, {}, `did:web:${'a'.repeat(10_000)}.com`));
  server.mode('wk-html', (ex) => ex.respond(200, { 'content-type': 'text/html' }, '<html>did:plc:ewvi7nxzyoun6zhxrhs64oiz</html>'));
  // Cut inside the deflate data: decoded leniently, it was the shorter DID did:plc:ewvi7nxzyoun6zhxrhs64.
  const gzippedDid = gzipSync('did:plc:ewvi7nxzyoun6zhxrhs64oiz');
  server.mode('wk-gzip-truncated', (ex) => ex.respond(200, { 'content-encoding': 'gzip' }, gzippedDid.subarray(0, gzippedDid.length - 12)));
  // Redirect tricks.
  server.mode('to-http', (ex) => ex.respond(302, { location: `http://wk-ok.handle.test:${plain.port}/.well-known/atproto-did` }));
  server.mode('to-creds', (ex) => ex.respond(302, { location: 'https://user:pw@wk-ok.handle.test/.well-known/atproto-did' }));
  server.mode('to-file', (ex) => ex.respond(302, { location: 'file:///etc/passwd' }));
  server.mode('to-bad-url', (ex) => ex.respond(302, { location: 'https://[::1/' }));
  server.mode('to-ok', (ex) => ex.respond(301, { location: 'https://wk-ok.handle.test/.well-known/atproto-did' }));
  server.mode('doc-redirect', (ex) => ex.respond(302, { location: 'https://doc-ok.web.test/.well-known/did.json' }));
});

afterAll(async () => {
  await Promise.all([server?.close(), plain?.close()]);
  await ca?.dispose();
});

describe.each(implementations)('$name transport, through IdResolver', ({ create }) => {
  let transport: Transport;
  const resolvers: IdResolver[] = [];

  beforeAll(() => {
    transport = create({
      caFile: ca.certFile,
      allowPrivateNetwork: true,
      connectTo: {
        '*.web.test:443': `127.0.0.1:${server.port}`,
        '*.handle.test:443': `127.0.0.1:${server.port}`,
        [`*.handle.test:${plain.port}`]: `127.0.0.1:${plain.port}`,
      },
      maxResponseBytes: 64 * 1024,
    });
  });
  afterEach(() => {
    server.requests.clear();
    plain.requests.clear();
  });
  afterAll(async () => {
    await Promise.all(resolvers.map((r) => r.close()));
    // No socket outlives the attacks: what is left is pooled and clears to zero.
    await transport.clearConnections();
    expect(await eventually(() => socketsConnectedTo(server.port), (n) => n === 0)).toBe(0);
    expect(await eventually(() => transport.stats().openConnections, (n) => n === 0)).toBe(0);
    expect(transport.stats()).toMatchObject({ inFlight: 0, queued: 0 });
    await transport.destroy();
  });

  function resolver(options: IdResolverOptions = {}): IdResolver {
    const r = new IdResolver({ transport, allowTestTlds: true, cache: false, timeoutMs: TIMEOUT_MS, ...options });
    resolvers.push(r);
    return r;
  }

  describe('transport attacks on a did:web host', () => {
    const cases: [string, new (...args: never[]) => Error][] = [
      ['big-length', ResponseTooLargeError],
      ['big-chunked', ResponseTooLargeError],
      ['endless-chunked', ResponseTooLargeError],
      ['gzip-bomb', ResponseTooLargeError],
      ['nested-bomb', ResponseTooLargeError],
      ['http10-close-big', ResponseTooLargeError],
    ];
    it.each(cases)('%s: InvalidDidDocumentError (too large) in time', async (mode, causeClass) => {
      const error = await expectTypedFailure(mode, () => resolver().did.resolve(`did:web:${mode}.web.test`), InvalidDidDocumentError, BOUND_MS);
      expect(error.cause).toBeInstanceOf(causeClass);
      expect(error.message).toMatch(/larger than 65536 bytes/);
    });

    it.each([
      ['slow-headers', TimeoutError],
      ['slow-body', TimeoutError],
      ['silent', TimeoutError],
      ['reset-mid-body', NetworkError],
      ['close-mid-body', NetworkError],
      ['br-bomb', ProtocolError],
    ] as const)('%s: ResolutionFailedError (transient, never cached) in time', async (mode, causeClass) => {
      const r = resolver({ cache: {} });
      for (let round = 0; round < 2; round += 1) {
        const error = await expectTypedFailure(mode, () => r.did.resolve(`did:web:${mode}.web.test`), ResolutionFailedError, BOUND_MS);
        expect(error.cause).toBeInstanceOf(causeClass);
      }
      // Not cached: the second call went to the host again.
      expect(server.requests.get(mode)).toBe(2);
      expect(r.stats().resolutions.web.error).toBe(2);
    });

    it('never follows a redirect for a DID document', async () => {
      const error = await expectTypedFailure('doc-redirect', () => resolver().did.resolve('did:web:doc-redirect.web.test'), ResolutionFailedError, BOUND_MS);
      expect(error.status).toBe(302);
      expect(server.requests.get('doc-ok')).toBeUndefined();
    });
  });

  describe('hostile documents', () => {
    it('resolves the control document, as published', async () => {
      const r = resolver();
      const doc = await r.did.resolve('did:web:doc-ok.web.test');
      expect(doc).toStrictEqual(JSON.parse(JSON.stringify(documentFor({ host: 'doc-ok.web.test' } as HostileExchange))));
      const data = await r.did.resolveAtprotoData('did:web:doc-ok.web.test');
      expect(data).toMatchObject({ handle: 'doc-ok.web.test', pds: 'https://pds.example.com', signingKey: `did:key:${KEY}` });
    });

    it('a document for another DID is a DidDocumentMismatchError, never cached', async () => {
      const r = resolver({ cache: {} });
      await expect(r.did.resolve('did:web:doc-wrong-id.web.test')).rejects.toBeInstanceOf(DidDocumentMismatchError);
      await expect(r.did.resolve('did:web:doc-wrong-id.web.test')).rejects.toBeInstanceOf(DidDocumentMismatchError);
      expect(server.requests.get('doc-wrong-id')).toBe(2);
    });

    it.each(['doc-deep', 'doc-huge-array', 'doc-non-string', 'doc-id-number', 'doc-deep-field', 'doc-deep-extension'])(
      '%s: InvalidDidDocumentError at the default and at a 16 MiB document limit',
      async (mode) => {
        for (const maxDocumentBytes of [65_536, 16 * 1024 * 1024]) {
          const big = create({
            caFile: ca.certFile,
            allowPrivateNetwork: true,
            connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` },
          });
          try {
            const r = new IdResolver({ transport: big, allowTestTlds: true, cache: false, timeoutMs: 5_000, maxDocumentBytes });
            await expectTypedFailure(mode, () => r.did.resolve(`did:web:${mode}.web.test`), InvalidDidDocumentError, 5_000 + TIME_SLACK_MS);
            await r.close();
          } finally {
            await big.destroy();
          }
        }
      },
    );

    it('__proto__ and constructor keys pollute nothing and are not kept', async () => {
      const doc = await resolver().did.resolve('did:web:doc-proto.web.test');
      expect(doc).not.toBeNull();
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
      expect(Object.keys(doc ?? {}).sort()).toEqual(['@context', 'alsoKnownAs', 'id', 'service', 'verificationMethod']);
      expect(JSON.stringify(doc)).not.toContain('polluted');
      expect((doc?.verificationMethod?.[0] as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('an invalid Multikey leaves no signing key', async () => {
      const r = resolver();
      expect((await r.did.resolveAtprotoData('did:web:doc-bad-multikey.web.test')).signingKey).toBeUndefined();
      await expect(r.did.resolveAtprotoKey('did:web:doc-bad-multikey.web.test')).rejects.toBeInstanceOf(MissingAtprotoDataError);
    });

    it('duplicate #atproto entries: the first valid key wins; the first PDS entry decides', async () => {
      const data = await resolver().did.resolveAtprotoData('did:web:doc-dup-atproto.web.test');
      expect(data.signingKey).toBe(`did:key:${KEY}`);
      // The first #atproto_pds entry has a path, so there is no PDS; the second is not consulted.
      expect(data.pds).toBeUndefined();
    });

    it.each(['doc-pds-creds', 'doc-pds-path', 'doc-pds-query', 'doc-pds-js', 'doc-pds-backslash'])(
      '%s: a PDS endpoint that is not an origin is no PDS',
      async (mode) => {
        const data = await resolver().did.resolveAtprotoData(`did:web:${mode}.web.test`);
        expect(data.pds).toBeUndefined();
        expect(data.signingKey).toBe(`did:key:${KEY}`);
      },
    );
  });

  describe('hostile handle well-known answers', () => {
    it('the control answer resolves, trimmed', async () => {
      const r = resolver();
      expect(await r.handle.resolveHttp('wk-ok.handle.test')).toBe('did:plc:ewvi7nxzyoun6zhxrhs64oiz');
      expect(await r.handle.resolveHttp('wk-padded.handle.test')).toBe('did:plc:ewvi7nxzyoun6zhxrhs64oiz');
    });

    it.each(['wk-nul', 'wk-two', 'wk-html'])(
      '%s: a body that is not a DID is "none", in time',
      async (mode) => {
        const outcome = await expectTypedFailure(
          mode,
          async () => {
            const did = await resolver().handle.resolveHttp(`${mode}.handle.test`);
            // A non-answer is the expected outcome; throw it so the helper times it.
            throw Object.assign(new Error('no DID'), { did });
          },
          Error,
          BOUND_MS,
        );
        expect((outcome as Error & { did?: string }).did).toBeUndefined();
      },
    );

    it.each([
      ['silent', TimeoutError],
      ['slow-body', TimeoutError],
      ['reset-mid-body', NetworkError],
      // Over the caps: no status is known for sure (a CDN's 5xx page is
      // large too), so it is not an authoritative "none" (as indigo).
      ['wk-huge', ResponseTooLargeError],
      ['big-chunked', ResponseTooLargeError],
      ['gzip-bomb', ResponseTooLargeError],
      ['big-headers', ResponseTooLargeError],
      ['header-restart', TransportError],
      // A body that cannot be decoded (truncated gzip, an encoding never asked for).
      ['wk-gzip-truncated', ProtocolError],
      ['br-bomb', ProtocolError],
    ] as const)('%s: a transient ResolutionFailedError, in time', async (mode, causeClass) => {
      const error = await expectTypedFailure(mode, () => resolver().handle.resolveHttp(`${mode}.handle.test`), ResolutionFailedError, BOUND_MS);
      expect(error.cause).toBeInstanceOf(causeClass);
    });
  });

  describe('redirect tricks on the handle well-known', () => {
    it('follows a plain https redirect (control)', async () => {
      expect(await resolver().handle.resolveHttp('to-ok.handle.test')).toBe('did:plc:ewvi7nxzyoun6zhxrhs64oiz');
    });

    /** A refused redirect is a transient failure of the well-known (as indigo), never a cached "none". */
    async function refusedRedirect(promise: Promise<unknown>): Promise<void> {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResolutionFailedError);
      expect((error as Error).cause).toBeInstanceOf(RedirectError);
    }

    it.each(['to-http', 'to-creds', 'to-file', 'to-bad-url'])('%s: refused, the target never contacted, no DID', async (mode) => {
      await refusedRedirect(resolver().handle.resolveHttp(`${mode}.handle.test`));
      expect(server.requests.get(mode)).toBe(1);
      expect(server.requests.get('wk-ok')).toBeUndefined();
      expect(plain.accepted).toBe(0);
    });

    it('a loop stops after maxHandleRedirects + 1 requests', async () => {
      await refusedRedirect(resolver().handle.resolveHttp('redirect-loop.handle.test'));
      expect(server.requests.get('redirect-loop')).toBe(4);
      await refusedRedirect(resolver({ maxHandleRedirects: 10 }).handle.resolveHttp('redirect-loop.handle.test'));
      expect(server.requests.get('redirect-loop')).toBe(4 + 11);
    });

    it('a 20-hop chain is cut at the limit: the transport maximum is 20 redirects, 21 requests', async () => {
      const error = await expectTypedFailure(
        '20 hops',
        () => transport.request('https://redirect-chain.handle.test/0', { maxRedirects: 20, timeoutMs: 5_000 }),
        RedirectError,
        5_000 + TIME_SLACK_MS,
      );
      expect(error.message).toMatch(/more than 20/);
      expect(server.requests.get('redirect-chain')).toBe(21);
      await refusedRedirect(resolver().handle.resolveHttp('redirect-chain.handle.test'));
      expect(server.requests.get('redirect-chain')).toBe(21 + 4);
    });
  });
});
