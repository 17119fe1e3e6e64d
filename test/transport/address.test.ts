import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyAddress, type AddressClass } from '../../src/transport/address.js';

/** Every row of the table, with both edges of each range and its neighbours outside. */
const cases: [string, AddressClass][] = [
  // IPv4 unspecified 0/8
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['1.0.0.0', 'public'],
  // 10/8
  ['9.255.255.255', 'public'],
  ['10.0.0.0', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.0', 'public'],
  // 100.64/10 CGNAT
  ['100.63.255.255', 'public'],
  ['100.64.0.0', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.0', 'public'],
  // 127/8
  ['126.255.255.255', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['128.0.0.0', 'public'],
  // 169.254/16
  ['169.253.255.255', 'public'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'link-local'],
  ['169.255.0.0', 'public'],
  // 172.16/12
  ['172.15.255.255', 'public'],
  ['172.16.0.0', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  // 192.0.0/24, 192.0.2/24
  ['191.255.255.255', 'public'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.255', 'reserved'],
  ['192.0.1.0', 'public'],
  ['192.0.2.0', 'documentation'],
  ['192.0.2.255', 'documentation'],
  ['192.0.3.0', 'public'],
  // 192.88.99/24
  ['192.88.98.255', 'public'],
  ['192.88.99.1', 'reserved'],
  ['192.88.100.0', 'public'],
  // 192.168/16
  ['192.167.255.255', 'public'],
  ['192.168.0.0', 'private'],
  ['192.168.255.255', 'private'],
  ['192.169.0.0', 'public'],
  // 198.18/15
  ['198.17.255.255', 'public'],
  ['198.18.0.0', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.0', 'public'],
  // 198.51.100/24, 203.0.113/24
  ['198.51.99.255', 'public'],
  ['198.51.100.7', 'documentation'],
  ['198.51.101.0', 'public'],
  ['203.0.112.255', 'public'],
  ['203.0.113.9', 'documentation'],
  ['203.0.114.0', 'public'],
  // 224/4, 240/4
  ['223.255.255.255', 'public'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'],
  ['255.255.255.255', 'reserved'],
  // ordinary public IPv4
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],

  // IPv6 unspecified and loopback
  ['::', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  // IPv4-mapped ::ffff:0:0/96 → embedded IPv4
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:8.8.8.8', 'public'],
  ['0:0:0:0:0:ffff:808:808', 'public'],
  // IPv4-compatible ::/96 (deprecated)
  ['::2', 'reserved'],
  ['::8.8.8.8', 'reserved'],
  ['::127.0.0.1', 'reserved'],
  ['::ffff:ffff', 'reserved'],
  // outside ::ffff:0:0/96 but near it: IPv4-translated ::ffff:0:0:0/96 is outside 2000::/3
  ['::ffff:0:8.8.8.8', 'reserved'],
  ['::1:ffff:808:808', 'reserved'],
  // NAT64 64:ff9b::/96 → embedded IPv4
  ['64:ff9b::8.8.8.8', 'public'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::192.168.1.1', 'private'],
  ['64:ff9b::1:0:0', 'reserved'],
  // local-use NAT64 64:ff9b:1::/48
  ['64:ff9b:1::808:808', 'reserved'],
  ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  // discard 100::/64
  ['100::', 'reserved'],
  ['100::ffff:ffff:ffff:ffff', 'reserved'],
  ['100:0:0:1::', 'reserved'],
  // 2001::/23 IETF protocol assignments, including Teredo 2001::/32
  ['2001::1', 'reserved'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
  ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['2001:200::1', 'public'],
  // 2001:db8::/32 documentation
  ['2001:db8::1', 'documentation'],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
  ['2001:db7:ffff::1', 'public'],
  ['2001:db9::1', 'public'],
  // 6to4 2002::/16 → embedded IPv4 in bits 16..47
  ['2002:7f00:1::1', 'loopback'],
  ['2002:c0a8:101::', 'private'],
  ['2002:a9fe:a9fe::1', 'link-local'],
  ['2002:808:808::1', 'public'],
  ['2002::', 'unspecified'],
  // 3fff::/20 documentation
  ['3fff::1', 'documentation'],
  ['3fff:fff:ffff::', 'documentation'],
  ['3fff:1000::', 'public'],
  // 5f00::/16 SRv6
  ['5f00::1', 'reserved'],
  ['5eff:ffff::1', 'reserved'],
  ['5f01::1', 'reserved'],
  // fc00::/7 unique local
  ['fc00::1', 'private'],
  ['fd12:3456:789a::1', 'private'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  // fe80::/10 link-local, fec0::/10 site-local (deprecated)
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fec0::1', 'private'],
  ['feff::1', 'private'],
  // ff00::/8 multicast
  ['ff02::1', 'multicast'],
  ['ff0e::101', 'multicast'],
  // outside 2000::/3
  ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['4000::1', 'reserved'],
  ['8000::1', 'reserved'],
  ['e000::1', 'reserved'],
  // global unicast
  ['2000::', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:82a::200e', 'public'],
  ['3ffe:ffff::1', 'public'],
  ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  // bracketed and upper case
  ['[::1]', 'loopback'],
  ['[2001:DB8::1]', 'documentation'],
  ['::FFFF:127.0.0.1', 'loopback'],
];

describe('classifyAddress', () => {
  it.each(cases)('%s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each([
    '',
    'localhost',
    'example.com',
    '127.1',
    '0x7f.0.0.1',
    '127.000.000.001',
    '256.0.0.1',
    '1.2.3.4.5',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:1.2.3',
    '[::1',
    '12345::',
    'fe80::1%',
  ])('fails closed on non-literal %j', (input) => {
    expect(classifyAddress(input)).toBe('reserved');
  });

  it('agrees with node:net BlockList on every IPv4 /8 boundary it knows', async () => {
    const { BlockList } = await import('node:net');
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

  it('gives the same class for every text form of an IPv6 address', () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(groups, (g) => {
        const full = g.map((x) => x.toString(16).padStart(4, '0')).join(':');
        const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        expect(classifyAddress(compressed)).toBe(classifyAddress(full));
        expect(classifyAddress(full.toUpperCase())).toBe(classifyAddress(full));
      }),
      { numRuns: 2000 },
    );
  });
});
