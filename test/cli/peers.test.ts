import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../src/cli/contender.js';
import { MissingPeerError } from '../../src/cli/errors.js';
import { importPeer } from '../../src/cli/peers/load.js';
import { ResolutionFailedError } from '../../src/resolve/errors.js';
import { TimeoutError } from '../../src/transport/errors.js';

describe('dev-only peers', () => {
  it('a missing peer is a MissingPeerError saying how to add it', async () => {
    const load = importPeer('atresolve-no-such-peer', 'npm i -D atresolve-no-such-peer', () => import('atresolve-no-such-peer' as string));
    await expect(load).rejects.toThrow(MissingPeerError);
    await expect(load).rejects.toThrow('atresolve-no-such-peer is not installed; add it with: npm i -D atresolve-no-such-peer');
  });

  it('other import failures are not hidden', async () => {
    await expect(importPeer('x', 'y', () => Promise.reject(new SyntaxError('broken')))).rejects.toThrow(SyntaxError);
  });
});

describe('error codes in the report', () => {
  it('joins a code with its cause’s code', () => {
    const error = new ResolutionFailedError('did:plc:x', 'timed out', { cause: new TimeoutError('slow', { phase: 'total', timeoutMs: 3000 }) });
    expect(errorCodeOf(error)).toBe('RESOLUTION_FAILED/TIMEOUT');
  });

  it('uses the class name for errors without a code, and never a long or odd string', () => {
    expect(errorCodeOf(new TypeError('x'))).toBe('TypeError');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'not a code!' }))).toBe('Error');
    expect(errorCodeOf('oops')).toBe('UNKNOWN');
  });
});
