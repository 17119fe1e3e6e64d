import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { classifyAddress, type AddressClass } from '../../src/transport/address.js';
import { loadNativeAddon } from '../../src/transport/native-addon.js';

/**
 * The SSRF classifier exists twice on purpose: the TypeScript one checks the
 * addresses a name resolves to before a connection is attempted, the native
 * one (`address.c`) checks every socket libcurl opens. They must agree on
 * every address. One case table (`test/fixtures/address-classes.txt`, which
 * the C suite reads too) and a random sample run through both here.
 */

type Expected = AddressClass | 'not-an-address';

/** The rows of the shared case table: `<address> <class>`, `#` comments. */
const cases: [string, Expected][] = readFileSync(new URL('../fixtures/address-classes.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.length > 0 && !line.startsWith('#'))
  .map((line) => {
    const [address = '', expected = ''] = line.split(/\s+/);
    return [address, expected as Expected];
  });

const load = loadNativeAddon();
if (!load.ok) throw new Error(`the native classifier is needed: ${load.reason}`);
const native = load.addon;

/** The TypeScript classifier, with `not-an-address` where the native one refuses the text. */
const viaTs = (ip: string): Expected => classifyAddress(ip);
const viaNative = (ip: string): Expected => native.classifyAddress(ip) ?? 'not-an-address';

describe('the shared case table', () => {
  it('has a row for every class', () => {
    const classes = new Set(cases.map(([, expected]) => expected));
    for (const name of [
      'public', 'unspecified', 'loopback', 'private', 'link-local', 'cgnat',
      'multicast', 'documentation', 'benchmarking', 'reserved', 'not-an-address',
    ]) {
      expect(classes, name).toContain(name);
    }
  });

  it.each(cases)('native: %s is %s', (ip, expected) => {
    expect(viaNative(ip)).toBe(expected);
  });

  it.each(cases)('TypeScript: %s is %s', (ip, expected) => {
    // Text that is no IP literal fails closed in TypeScript: a caller that
    // forgot to resolve a name is refused, not let through.
    expect(viaTs(ip)).toBe(expected === 'not-an-address' ? 'reserved' : expected);
  });
});

/** `value` (`bits` wide) as full-form text: a dotted quad, or eight hex groups. */
function fullText(value: bigint, bits: 32 | 128): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((shift) => (value >> shift) & 0xffn).join('.');
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((value >> shift) & 0xffffn).toString(16)).join(':');
}

/** The address a full-form literal stands for, read back through the WHATWG URL parser (which compresses, never expands). */
function valueOf(ip: string): { value: bigint; bits: 32 | 128 } {
  if (!ip.includes(':')) return { value: ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n), bits: 32 };
  const [head = '', tail = ''] = new URL(`http://[${ip}]/`).hostname.slice(1, -1).split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { value: groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n), bits: 128 };
}

/** The text forms of one address that both classifiers take. */
function textForms(value: bigint, bits: 32 | 128): string[] {
  const full = fullText(value, bits);
  if (bits === 32) return [full];
  const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  const mixed = `${full.split(':').slice(0, 6).join(':')}:${fullText(value & 0xffff_ffffn, 32)}`;
  return [full, full.toUpperCase(), compressed, mixed];
}

/** The table's addresses, to sample the neighbourhood of every range at every prefix length. */
const seeds = cases.filter(([, expected]) => expected !== 'not-an-address').map(([ip]) => valueOf(ip));

/** An address that shares its first `keep` bits with a row of the table, the rest random. */
const nearARow = fc
  .tuple(fc.constantFrom(...seeds), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat(128))
  .map(([seed, noise, keep]) => {
    const width = BigInt(seed.bits);
    const random = BigInt(Math.max(0, seed.bits - keep));
    const low = (1n << random) - 1n;
    return { value: ((seed.value & ~low) | (noise & low)) & ((1n << width) - 1n), bits: seed.bits };
  });

const anyAddress = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value) => ({ value, bits: 32 as const })),
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value) => ({ value, bits: 128 as const })),
);

describe('a random sample through both classifiers', () => {
  it('agrees on addresses near every row of the table, in every text form', () => {
    fc.assert(
      fc.property(nearARow, ({ value, bits }) => {
        const forms = textForms(value, bits);
        const expected = viaNative(forms[0] ?? '');
        for (const ip of forms) {
          expect(viaNative(ip), ip).toBe(expected);
          expect(viaTs(ip), ip).toBe(expected);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees on uniformly random IPv4 and IPv6 addresses', () => {
    fc.assert(
      fc.property(anyAddress, ({ value, bits }) => {
        const ip = fullText(value, bits);
        expect(viaTs(ip), ip).toBe(viaNative(ip));
      }),
      { numRuns: 20_000 },
    );
  });

  it('never calls text public that the native classifier refuses, and otherwise agrees', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    const text = fc.array(chars, { maxLength: 45 }).map((list) => list.join(''));
    fc.assert(
      fc.property(text, (ip) => {
        const expected = viaNative(ip);
        expect(viaTs(ip), ip).toBe(expected === 'not-an-address' ? 'reserved' : expected);
      }),
      { numRuns: 20_000 },
    );
  });
});

/**
 * The TypeScript classifier alone: it reads text from URLs and DNS answers,
 * so it takes brackets and zones, which the native one (classifying socket
 * addresses) never sees.
 */
describe('classifyAddress (TypeScript) on URL and DNS text', () => {
  it.each([
    ['[::1]', 'loopback'],
    ['[2001:DB8::1]', 'documentation'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
    ['[fe80::1%25eth0]', 'link-local'],
  ] as const)('%s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(['', '[::1', '::1]', 'fe80::1%', '127.0.0.1%eth0'])('fails closed on %j', (input) => {
    expect(classifyAddress(input)).toBe('reserved');
  });

  it('agrees with node:net BlockList on every IPv4 range it knows', () => {
    const list = new BlockList();
    for (const [net, len] of [
      ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
      ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
      ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
    ] as const) {
      list.addSubnet(net, len, 'ipv4');
    }
    // Walk the whole IPv4 space in steps that hit every range at least once.
    for (let a = 0; a < 256; a += 1) {
      for (const [b, c, d] of [[0, 0, 0], [64, 0, 1], [88, 99, 7], [51, 100, 1], [0, 2, 9], [0, 113, 3], [168, 4, 4], [254, 1, 1], [255, 255, 255], [16, 0, 1], [18, 0, 0], [19, 255, 255], [127, 255, 255]] as const) {
        const ip = `${a}.${b}.${c}.${d}`;
        expect(classifyAddress(ip) !== 'public', ip).toBe(list.check(ip, 'ipv4'));
      }
    }
  });

  it('classifies embedded IPv4 exactly like the IPv4 address itself', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(octets, ([a, b, c, d]) => {
        const ip4 = `${a}.${b}.${c}.${d}`;
        const hi = ((a << 8) | b).toString(16);
        const lo = ((c << 8) | d).toString(16);
        const expected = classifyAddress(ip4);
        expect(classifyAddress(`::ffff:${ip4}`)).toBe(expected);
        expect(classifyAddress(`::ffff:${hi}:${lo}`)).toBe(expected);
        expect(classifyAddress(`64:ff9b::${ip4}`)).toBe(expected);
        expect(classifyAddress(`2002:${hi}:${lo}::1`)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
