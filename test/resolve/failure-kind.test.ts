import { describe, expect, it } from 'vitest';
import { exitStatusOf } from '../../src/cli/resolve.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from '../../src/document/errors.js';
import { failureKindOf } from '../../src/resolve/failure-kind.js';
import { outcomeOf } from '../../src/resolve/recorder.js';
import { AmbiguousHandleError, DidNotFoundError, HandleNotFoundError, ResolutionFailedError } from '../../src/resolve/errors.js';
import { InvalidDidError, InvalidHandleError, UnsupportedDidMethodError } from '../../src/syntax/errors.js';
import { AbortError, DnsError, QueueFullError, TimeoutError, TlsError } from '../../src/transport/errors.js';

// One classification of failures: the resolvers' metric outcome and the
// exit status of `atresolve resolve` are both read from it.
describe('failureKindOf', () => {
  const timeout = new TimeoutError('timed out', { phase: 'total', timeoutMs: 3000 });
  const cases: [string, unknown, string, string, number][] = [
    ['invalid DID', new InvalidDidError('did:x', 'syntax', 'bad'), 'invalid_input', 'invalid', 3],
    ['invalid handle', new InvalidHandleError('x!', 'syntax', 'bad'), 'invalid_input', 'invalid', 3],
    ['unsupported method', new UnsupportedDidMethodError('did:example:1', 'example'), 'invalid_input', 'invalid', 3],
    ['DID not found', new DidNotFoundError('did:plc:x'), 'not_found', 'not_found', 4],
    ['handle not found', new HandleNotFoundError('a.test'), 'not_found', 'not_found', 4],
    ['invalid document', new InvalidDidDocumentError('did:plc:x', 'bad'), 'bad_answer', 'invalid', 6],
    ['document for another DID', new DidDocumentMismatchError('did:plc:x', 'did:plc:y'), 'bad_answer', 'invalid', 6],
    ['ambiguous handle', new AmbiguousHandleError('a.test', ['did:plc:x', 'did:plc:y']), 'bad_answer', 'invalid', 6],
    ['transport timeout', timeout, 'timeout', 'error', 5],
    ['resolution failed by a timeout', new ResolutionFailedError('x', 'fetch failed', { cause: timeout }), 'timeout', 'error', 5],
    ['DNS timeout', new ResolutionFailedError('x', 'y', { cause: new DnsError('no answer', { reason: 'TIMEOUT' }) }), 'timeout', 'error', 5],
    ['c-ares timeout', new ResolutionFailedError('x', 'y', { cause: Object.assign(new Error('queryTxt ETIMEOUT'), { code: 'ETIMEOUT' }) }), 'timeout', 'error', 5],
    ['caller deadline', new AbortError('aborted', { cause: new DOMException('timed out', 'TimeoutError') }), 'timeout', 'error', 5],
    ['TLS', new ResolutionFailedError('x', 'y', { cause: new TlsError('bad cert') }), 'unavailable', 'error', 5],
    ['DNS server failure', new DnsError('SERVFAIL', { reason: 'SERVER_FAILURE' }), 'unavailable', 'error', 5],
    ['queue full', new QueueFullError('full'), 'unavailable', 'error', 5],
    ['a bug', new TypeError('undefined is not a function'), 'unexpected', 'error', 1],
    ['not an error', 'a string', 'unexpected', 'error', 1],
  ];
  it.each(cases)('%s', (_, error, kind, outcome, exit) => {
    expect(failureKindOf(error)).toBe(kind);
    expect(outcomeOf(error)).toBe(outcome);
    expect(exitStatusOf(error)).toBe(exit);
  });
});
