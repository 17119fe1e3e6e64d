import { describe, expect, it } from 'vitest';
import { causeChain, chainLabel, describeChain } from '../../src/cli/causes.js';
import { errorCodeOf } from '../../src/cli/contender.js';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { ConnectError, DnsError, TimeoutError } from '../../src/transport/errors.js';

describe('cause chains', () => {
  const dns = new DnsError('could not resolve host plc.directory (no answer within 1000 ms)', { hostname: 'plc.directory', reason: 'TIMEOUT' });
  const failed = new ResolutionFailedError('did:plc:abc', 'fetching https://plc.directory failed', { cause: dns });

  it('lists an error and its causes with codes and plain fields', () => {
    expect(causeChain(failed)).toEqual([
      { name: 'ResolutionFailedError', code: 'RESOLUTION_FAILED', message: 'resolving "did:plc:abc" failed: fetching https://plc.directory failed', details: { target: 'did:plc:abc' } },
      { name: 'DnsError', code: 'DNS', message: dns.message, details: { hostname: 'plc.directory', reason: 'TIMEOUT' } },
    ]);
  });

  it('explains down the chain without repeating what a message already says', () => {
    const wrapped = new ConnectError('Failed to connect to 127.0.0.1 port 1', { cause: new Error('libcurl error 7: Failed to connect to 127.0.0.1 port 1') });
    const outer = new ResolutionFailedError('did:plc:abc', 'fetching https://plc.test failed', { cause: wrapped });
    expect(describeChain(causeChain(outer))).toBe('resolving "did:plc:abc" failed: fetching https://plc.test failed: Failed to connect to 127.0.0.1 port 1');
    expect(describeChain(causeChain(failed))).toBe(`resolving "did:plc:abc" failed: fetching https://plc.directory failed: ${dns.message}`);
  });

  it('labels a chain by its codes; below the top, errors without a code add nothing', () => {
    expect(chainLabel(causeChain(failed))).toBe('RESOLUTION_FAILED/DNS');
    const timeout = new TimeoutError('no answer within 1s', { phase: 'total', timeoutMs: 1000, cause: new DOMException('aborted', 'TimeoutError') });
    expect(chainLabel(causeChain(timeout))).toBe('TIMEOUT');
    expect(chainLabel(causeChain(new TypeError('x')))).toBe('TypeError');
    expect(chainLabel(causeChain('a string'))).toBe('UNKNOWN');
    expect(chainLabel(causeChain(Object.assign(new Error('peer'), { code: 'HANDLE_NOT_FOUND' })))).toBe('HANDLE_NOT_FOUND');
    // The soak's labels stop at two levels, so their set stays small.
    const deep = new ResolutionFailedError('x', 'y', { cause: new ConnectError('z', { cause: Object.assign(new Error('w'), { code: 'ECONNREFUSED' }) }) });
    expect(chainLabel(causeChain(deep))).toBe('RESOLUTION_FAILED/CONNECT/ECONNREFUSED');
    expect(errorCodeOf(deep)).toBe('RESOLUTION_FAILED/CONNECT');
  });

  it('ends at a cycle and at a depth limit', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(b).map((l) => l.message)).toEqual(['b', 'a']);
    let deep: Error = new Error('0');
    for (let i = 1; i < 20; i++) deep = new Error(String(i), { cause: deep });
    expect(causeChain(deep)).toHaveLength(8);
  });
});
