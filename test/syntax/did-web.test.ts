import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { ensureResolvableDid, isResolvableDid, parseDidWeb } from '../../src/syntax/did.js';
import { InvalidDidError, UnsupportedDidMethodError, type InvalidDidReason } from '../../src/syntax/errors.js';
import { RESERVED_TLDS } from '../../src/syntax/handle.js';

function reasonOf(fn: () => unknown): InvalidDidReason {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidDidError);
    return (err as InvalidDidError).reason;
  }
  throw new Error('expected InvalidDidError, nothing was thrown');
}

describe('parseDidWeb: hostname extraction', () => {
  it('returns the hostname of a hostname-level did:web', () => {
    expect(parseDidWeb('did:web:example.com')).toEqual({
      method: 'web',
      did: 'did:web:example.com',
      hostname: 'example.com',
      port: undefined,
      isLocalhost: false,
      authority: 'example.com',
    });
    expect(parseDidWeb('did:web:a.b-c.xn--bcher-kva.example.co').hostname).toBe('a.b-c.xn--bcher-kva.example.co');
  });

  it('returns localhost with its decoded port, and flags it as a development host', () => {
    expect(parseDidWeb('did:web:localhost%3A1234')).toEqual({
      method: 'web',
      did: 'did:web:localhost%3A1234',
      hostname: 'localhost',
      port: 1234,
      isLocalhost: true,
      authority: 'localhost:1234',
    });
    expect(parseDidWeb('did:web:localhost%3a65535').port).toBe(65535);
    expect(parseDidWeb('did:web:localhost')).toMatchObject({ hostname: 'localhost', port: undefined, isLocalhost: true });
  });

  it.each([
    ['did:web:example.com:u:alice', /path-based/],
    ['did:web:example.com:8443', /path-based/],
    ['did:web:example.com%3A443', /port is only allowed for localhost/],
    ['did:web:127.0.0.1%3A80', /port is only allowed for localhost/],
    ['did:web:exa%6Dple.com', /cannot contain %-escapes/],
    ['did:web:localhost%3A0', /1-65535/],
    ['did:web:localhost%3A65536', /1-65535/],
    ['did:web:localhost%3A08080', /1-65535/],
    ['did:web:localhost%3A', /1-65535/],
    ['did:web:localhost%3A%3A1', /1-65535/],
    ['did:web:localhost%3A12a', /1-65535/],
    ['did:web:sub.localhost%3A1234', /port is only allowed for localhost/],
    ['did:web:example', /not a valid hostname/],
    ['did:web:127.0.0.1', /not a valid hostname/],
    ['did:web:-example.com', /not a valid hostname/],
    ['did:web:example.com.', /not a valid hostname/],
    ['did:web:exa_mple.com', /not a valid hostname/],
    ['did:web:example.0com', /not a valid hostname/],
    [`did:web:${'a'.repeat(64)}.com`, /not a valid hostname/],
    ['did:web:Example.com', /must be lowercase/],
    ['did:web:LOCALHOST', /not a valid hostname/],
    ['did:plc:ewvi7nxzyoun6zhxrhs64oiz', /not a did:web DID/],
  ])('refuses %s', (did, message) => {
    expect(() => parseDidWeb(did)).toThrow(message);
    expect(reasonOf(() => parseDidWeb(did))).toBe('method-syntax');
  });

  it('refuses a generically invalid DID with reason syntax', () => {
    expect(reasonOf(() => parseDidWeb('did:web:exa mple.com'))).toBe('syntax');
    expect(reasonOf(() => parseDidWeb('did:web:'))).toBe('syntax');
  });

  it('accepts the longest hostname (253 characters) and refuses 254', () => {
    const label = 'a'.repeat(63);
    const host253 = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;
    expect(host253).toHaveLength(253);
    expect(parseDidWeb(`did:web:${host253}`).hostname).toBe(host253);
    expect(reasonOf(() => parseDidWeb(`did:web:a${host253}`))).toBe('method-syntax');
  });
});

describe('ensureResolvableDid: policy', () => {
  it('returns plc and web DIDs that may be resolved', () => {
    expect(ensureResolvableDid('did:plc:ewvi7nxzyoun6zhxrhs64oiz')).toEqual({
      method: 'plc',
      did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz',
    });
    expect(ensureResolvableDid('did:web:example.com')).toMatchObject({ method: 'web', hostname: 'example.com' });
  });

  it('refuses did:plc that is not in its strict form with reason method-syntax', () => {
    for (const did of ['did:plc:ewvi7nxzyoun6zhxrhs64oi', 'did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ', 'did:plc:ewvi7nxzyoun6zhxrhs64oi1']) {
      expect(reasonOf(() => ensureResolvableDid(did))).toBe('method-syntax');
    }
  });

  it('tells an unsupported method from bad syntax', () => {
    expect(() => ensureResolvableDid('did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N')).toThrow(
      UnsupportedDidMethodError,
    );
    expect(() => ensureResolvableDid(`did:${'m'.repeat(1500)}:v`)).toThrow(UnsupportedDidMethodError);
    expect(() => ensureResolvableDid(`did:${'m'.repeat(1500)}:v`)).toThrow(/"m{32}…" in /);
    expect(reasonOf(() => ensureResolvableDid('did:PLC:ewvi7nxzyoun6zhxrhs64oiz'))).toBe('syntax');
  });

  it.each(RESERVED_TLDS.map((tld) => `did:web:host.${tld}`))('refuses the reserved TLD in %s', (did) => {
    expect(reasonOf(() => ensureResolvableDid(did))).toBe('reserved-tld');
    expect(reasonOf(() => ensureResolvableDid(did, { allowTestTlds: true, allowLocalhost: true }))).toBe('reserved-tld');
    expect(isResolvableDid(did)).toBe(false);
  });

  it('refuses .test unless allowTestTlds', () => {
    expect(reasonOf(() => ensureResolvableDid('did:web:alice.test'))).toBe('test-tld');
    expect(ensureResolvableDid('did:web:alice.test', { allowTestTlds: true })).toMatchObject({ hostname: 'alice.test' });
    expect(isResolvableDid('did:web:alice.test')).toBe(false);
    expect(isResolvableDid('did:web:alice.test', { allowTestTlds: true })).toBe(true);
  });

  it('refuses localhost (with or without port) unless allowLocalhost', () => {
    for (const did of ['did:web:localhost', 'did:web:localhost%3A8080']) {
      expect(reasonOf(() => ensureResolvableDid(did))).toBe('localhost');
      expect(reasonOf(() => ensureResolvableDid(did, { allowTestTlds: true }))).toBe('localhost');
      expect(ensureResolvableDid(did, { allowLocalhost: true })).toMatchObject({ hostname: 'localhost', isLocalhost: true });
    }
  });

  it('does not treat TLDs that merely contain a reserved name as reserved', () => {
    expect(ensureResolvableDid('did:web:example.locals')).toMatchObject({ hostname: 'example.locals' });
    expect(ensureResolvableDid('did:web:local.example.com')).toMatchObject({ hostname: 'local.example.com' });
    expect(ensureResolvableDid('did:web:testing.com')).toMatchObject({ hostname: 'testing.com' });
  });

  it('isResolvableDid never throws for bad input', () => {
    for (const input of [undefined, null, 1, {}, '', 'did:web:', `did:web:${'a'.repeat(10_000)}`, 'did:web:\u0000']) {
      expect(isResolvableDid(input)).toBe(false);
    }
  });

  it('validates its options with the table', () => {
    expect(() => ensureResolvableDid('did:web:example.com', { allowLocalhost: 'yes' } as never)).toThrow(InvalidOptionsError);
    expect(() => ensureResolvableDid('did:web:example.com', { allowHttp: true } as never)).toThrow(/didResolution\.allowHttp/);
  });
});
