import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { TlsError } from '../../src/transport/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { createTestCa, type TestCa } from '../../src/world/test-ca.js';
import { startHostileServer, type HostileCertificate, type HostileServer } from '../support/hostile-server.js';
import { socketsConnectedTo } from '../support/proc-sockets.js';
import { implementations } from '../transport/implementations.js';
import { eventually } from '../support/async.js';
import { expectTypedFailure, failOnUnhandledRejections, TIME_SLACK_MS } from './support.js';

/**
 * Invalid certificates: expired, for another host, and self-signed (no CA
 * a client was given). Each is a TlsError from both transports, in time,
 * with no socket left, and through IdResolver both a did:web document and
 * a handle's well-known on such a host are a transient
 * ResolutionFailedError (a certificate gets fixed; it is never a "not found").
 */

failOnUnhandledRejections();

const TIMEOUT_MS = 1_000;
const CERTIFICATES: HostileCertificate[] = ['expired', 'wrong-host', 'self-signed'];

let ca: TestCa;
const servers = new Map<HostileCertificate, HostileServer>();

beforeAll(async () => {
  ca = await createTestCa({ commonName: 'atresolve hostile CA' });
  for (const certificate of [...CERTIFICATES, 'valid' as const]) {
    servers.set(certificate, await startHostileServer({ ca, certificate }));
  }
});
afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
  await ca.dispose();
});

function serverFor(certificate: HostileCertificate): HostileServer {
  const server = servers.get(certificate);
  if (!server) throw new Error(`no ${certificate} server`);
  return server;
}

describe.each(implementations)('$name transport', ({ create }) => {
  function make(server: HostileServer, certificate: HostileCertificate): Transport {
    return create({
      // The CA that signed the expired and wrong-host leaves is trusted, so
      // only the certificate's own flaw can fail the handshake; a
      // self-signed leaf meets a client with no caFile (system roots only).
      ...(certificate === 'self-signed' ? {} : { caFile: ca.certFile }),
      allowPrivateNetwork: true,
      connectTo: { '*.web.test:443': `127.0.0.1:${server.port}` },
      timeoutMs: TIMEOUT_MS,
    });
  }

  it('accepts the valid certificate (control)', async () => {
    const t = make(serverFor('valid'), 'valid');
    try {
      expect((await t.request('https://ok.web.test/')).body.toString()).toBe('ok');
    } finally {
      await t.destroy();
    }
  });

  it.each(CERTIFICATES)('refuses a %s certificate with TlsError, in time, leaving no socket', async (certificate) => {
    const server = serverFor(certificate);
    const t = make(server, certificate);
    try {
      for (let round = 0; round < 3; round += 1) {
        await expectTypedFailure(certificate, () => t.request('https://ok.web.test/'), TlsError, TIMEOUT_MS + TIME_SLACK_MS);
      }
      expect(server.requests.get('ok') ?? 0).toBe(0);
      expect(await eventually(() => socketsConnectedTo(server.port), (n) => n === 0)).toBe(0);
      expect(await eventually(() => t.stats().openConnections, (n) => n === 0)).toBe(0);
      expect(t.stats()).toMatchObject({ failed: 3, errorsByCode: { TLS: 3 } });
    } finally {
      await t.destroy();
    }
  });

  it.each(CERTIFICATES)('through IdResolver: a %s certificate fails did:web and the well-known, transiently', async (certificate) => {
    const server = serverFor(certificate);
    const transport = make(server, certificate);
    const resolver = new IdResolver({ transport, allowTestTlds: true, cache: false });
    try {
      const error = await expectTypedFailure(
        certificate,
        () => resolver.did.resolve('did:web:ok.web.test'),
        ResolutionFailedError,
        TIMEOUT_MS + TIME_SLACK_MS,
      );
      expect(error.cause).toBeInstanceOf(TlsError);
      const wellKnown = await resolver.handle.resolveHttp('ok.web.test').catch((e: unknown) => e);
      expect(wellKnown).toBeInstanceOf(ResolutionFailedError);
      expect((wellKnown as Error).cause).toBeInstanceOf(TlsError);
      expect(server.requests.size).toBe(0);
    } finally {
      await resolver.close();
      await transport.destroy();
    }
  });
});
