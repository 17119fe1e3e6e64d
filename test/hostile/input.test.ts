import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdResolver } from '../../src/resolve/id-resolver.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../../src/syntax/errors.js';
import { createTransport } from '../../src/transport/create.js';
import type { Transport } from '../../src/transport/types.js';
import { startScriptedDns, type ScriptedDnsServer } from '../support/dns-server.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';
import { vectorLines } from '../support/interop-vectors.js';
import { failOnUnhandledRejections } from './support.js';

/**
 * Hostile input from callers (a firehose event, a URL path, a user's
 * search box): every invalid DID, handle and at-identifier vector of the
 * atproto interop suite, non-ASCII and confusable handles, NUL bytes,
 * 10 KB strings and non-strings. Each must be refused with a typed error
 * whose message and fields are bounded, before any network or DNS I/O,
 * through every public entry point of IdResolver.
 */

failOnUnhandledRejections();

const KB10 = 10 * 1024;
const INPUT_ERRORS = [InvalidDidError, InvalidHandleError, UnsupportedDidMethodError];

const CONFUSABLE_HANDLES = [
  'аlice.com', // Cyrillic а
  'alice.cοm', // Greek ο
  'ALİCE.com', // dotted capital I
  'alice.\u212Aom', // KELVIN SIGN, lowercases to ASCII k
  'ａlice.com', // fullwidth a
  'alice\u200b.com', // zero-width space
  'alice\u202e.com', // right-to-left override
  'ali\u0301ce.com', // combining acute accent
  'alice.com\u3002evil.com', // ideographic full stop
  '🦋.bsky.social',
  'alice .com',
  ' alice.com',
  'alice.com.',
  '.alice.com',
  '@alice.com',
  'at://alice.com',
  'https://alice.com',
  'alice.com/path',
  'alice.com:443',
  'alice_bob.com',
  '-alice.com',
  'alice.-com',
  'alice.123',
];

const NUL_AND_CONTROL = [
  'alice.com\u0000',
  '\u0000alice.com',
  'alice\u0000.evil.com',
  'alice.com\n',
  'alice.com\r\nHost: evil.com',
  'did:plc:ewvi7nxzyoun6zhxrhs64oiz\u0000',
  'did:web:alice.com\u0000.evil.com',
  'did:plc:ewvi7nxzyoun6zhxrhs64oiz\n',
  'did:web:alice.com%00',
];

const HUGE = [
  'a'.repeat(KB10),
  `${'a'.repeat(KB10)}.com`,
  `${Array.from({ length: 2_000 }, () => 'abcd').join('.')}.com`,
  `did:plc:${'a'.repeat(KB10)}`,
  `did:web:${'a'.repeat(KB10)}.com`,
  `did:web:${Array.from({ length: 2_000 }, () => 'abcd').join('.')}.com`,
  `did:${'x'.repeat(KB10)}:abc`,
  '\u0000'.repeat(KB10),
  '\u{1F98B}'.repeat(KB10 / 2),
];

const NOT_STRINGS: unknown[] = [undefined, null, 42, {}, [], ['did:plc:ewvi7nxzyoun6zhxrhs64oiz'], new String('alice.com'), Symbol('x')];

let dns: ScriptedDnsServer;
let server: HostileServer;
let transport: Transport;
let resolver: IdResolver;

beforeAll(async () => {
  [dns, server] = await Promise.all([startScriptedDns(), startHostileServer()]);
  transport = createTransport({
    caFile: server.ca.certFile,
    allowPrivateNetwork: true,
    connectTo: { '*.com:443': `127.0.0.1:${server.port}`, '*.social:443': `127.0.0.1:${server.port}` },
  });
  resolver = new IdResolver({ transport, plcUrl: server.origin, dns: { nameservers: [dns.address], tries: 1 } });
});
afterAll(async () => {
  await resolver?.close();
  await transport?.destroy();
  await Promise.all([dns?.close(), server?.close()]);
});

/**
 * Every entry point that takes an identifier, for one input: DID entry
 * points for `did`, handle ones for `handle`, and `resolveIdentity()`
 * plus the ones its `did:` prefix (or not) selects for `any`.
 */
async function entryPoints(input: unknown, kind: 'did' | 'handle' | 'any' = 'any'): Promise<unknown[]> {
  const value = input as string;
  const errors: unknown[] = [];
  const attempt = async (call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
      errors.push(undefined);
    } catch (error) {
      errors.push(error);
    }
  };
  if (kind === 'any') await attempt(() => resolver.resolveIdentity(value));
  const asDid = kind === 'did' || (kind === 'any' && typeof input === 'string' && /^did:/i.test(input));
  if (asDid) {
    await attempt(() => resolver.did.resolve(value));
    await attempt(() => resolver.did.resolveAtprotoData(value));
  } else {
    await attempt(() => resolver.handle.resolve(value));
    await attempt(() => resolver.handle.resolveDns(value));
    await attempt(() => resolver.handle.resolveHttp(value));
  }
  return errors;
}

function expectRefused(input: unknown, errors: unknown[]): void {
  const label = typeof input === 'string' ? JSON.stringify(input.slice(0, 40)) : String(typeof input);
  for (const error of errors) {
    expect(INPUT_ERRORS.some((Class) => error instanceof Class), `${label}: ${String(error)}`).toBe(true);
    const typed = error as InvalidDidError | InvalidHandleError;
    // Bounded: the message shows at most 64 input units, escaped (≤ 6 characters each);
    // the error keeps at most 256 units.
    expect(typed.message.length, label).toBeLessThan(64 * 6 + 200);
    // Printable ASCII only (plus the ellipsis that marks a cut): nothing hides in a log line.
    expect(typed.message, label).not.toMatch(/[^\u0020-\u007e\u2026]/);
    if ('input' in typed && typed.input !== undefined) expect(typed.input.length).toBeLessThanOrEqual(256);
  }
}

function expectNoIo(): void {
  expect(server.accepted).toBe(0);
  expect(dns.queries.size).toBe(0);
}

describe('every invalid interop vector', () => {
  it.each([
    ['did_syntax_invalid.txt', 'did'],
    ['handle_syntax_invalid.txt', 'handle'],
    ['atidentifier_syntax_invalid.txt', 'any'],
  ] as const)('%s: typed, bounded, no I/O', async (file, kind) => {
    const lines = vectorLines(file);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expectRefused(line, await entryPoints(line, kind));
    expectNoIo();
  });
});

describe('non-ASCII, confusable and malformed handles', () => {
  it.each(CONFUSABLE_HANDLES)('%s', async (handle) => {
    expectRefused(handle, await entryPoints(handle));
    expectNoIo();
  });
});

describe('NUL bytes and control characters', () => {
  it.each(NUL_AND_CONTROL.map((s) => [JSON.stringify(s), s]))('%s', async (_label, input) => {
    expectRefused(input, await entryPoints(input));
    expectNoIo();
  });
});

describe('10 KB strings and non-strings', () => {
  it('every huge input is refused quickly with a bounded error', async () => {
    for (const input of HUGE) expectRefused(input, await entryPoints(input));
    expectNoIo();
  });

  it('non-strings are refused with a typed error, never a TypeError', async () => {
    for (const input of NOT_STRINGS) expectRefused(input, await entryPoints(input));
    expectNoIo();
  });

  it('purge() ignores what it cannot use and never throws', async () => {
    for (const input of [...HUGE, ...NUL_AND_CONTROL, ...NOT_STRINGS]) {
      await expect(resolver.purge(input as string)).resolves.toBeUndefined();
    }
  });

  it('counts every refusal as an invalid resolution, and nothing else happened', () => {
    const counts = Object.values(resolver.stats().resolutions);
    expect(counts.reduce((sum, c) => sum + c.invalid, 0)).toBeGreaterThan(200);
    expect(counts.reduce((sum, c) => sum + c.ok + c.error + c.not_found, 0)).toBe(0);
    expect(resolver.stats().transport.requests).toBe(0);
  });
});
