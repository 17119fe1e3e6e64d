import { describe, expect, it } from 'vitest';
import { ConnectToMap, splitHostPort } from '../../src/transport/connect-to.js';
import { InvalidOptionsError } from '../../src/errors.js';

describe('ConnectToMap', () => {
  const map = new ConnectToMap({
    '*.web.test:443': '127.0.0.1:8443',
    'plc.test:443': '127.0.0.1:9443',
    '*.deep.web.test:443': '[::1]:7443',
  });

  it('matches exact rules and subdomain wildcards, not the bare domain', () => {
    expect(map.lookup('plc.test', 443)).toEqual({ ip: '127.0.0.1', port: 9443 });
    expect(map.lookup('h1.web.test', 443)).toEqual({ ip: '127.0.0.1', port: 8443 });
    expect(map.lookup('H1.WEB.TEST', 443)).toEqual({ ip: '127.0.0.1', port: 8443 });
    expect(map.lookup('web.test', 443)).toBeUndefined();
    expect(map.lookup('h1.web.test', 444)).toBeUndefined();
    expect(map.lookup('other.test', 443)).toBeUndefined();
  });

  it('prefers the longest wildcard', () => {
    expect(map.lookup('x.deep.web.test', 443)).toEqual({ ip: '::1', port: 7443 });
  });

  it.each([
    [{ 'web.test': '127.0.0.1:1' }, 'pattern'],
    [{ 'a.test:443': 'not-an-ip:1' }, 'target'],
    [{ 'a.test:443': '127.0.0.1' }, 'target'],
    [{ 'a.*.test:443': '127.0.0.1:1' }, 'wildcard'],
    [{ '*.:443': '127.0.0.1:1' }, 'wildcard'],
    [{ 'a.test:0': '127.0.0.1:1' }, 'pattern'],
  ])('rejects %o with an error naming the %s', (rules, word) => {
    expect(() => new ConnectToMap(rules)).toThrow(InvalidOptionsError);
    expect(() => new ConnectToMap(rules)).toThrow(new RegExp(word));
  });

  it('splits IPv6 host:port', () => {
    expect(splitHostPort('[::1]:443')).toEqual({ host: '::1', port: 443 });
    expect(splitHostPort('::1:443')).toBeUndefined();
    expect(splitHostPort('a:65536')).toBeUndefined();
  });
});
