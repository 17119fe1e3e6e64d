import { describe, expect, it } from 'vitest';
import { requestFailed, ResolutionFailedError } from '../../src/resolve/errors.js';
import { QueueFullError, TlsError } from '../../src/transport/errors.js';

// The resolvers' wrapper of a failed request: a shed one (QueueFullError,
// thousands a second under overload) carries no stack trace, as the
// refusal itself does not; any other failure keeps its stack.
describe('requestFailed', () => {
  it('wraps a shed request without a stack trace, keeping the cause, and leaves Error.stackTraceLimit as it was', () => {
    const limitBefore = Error.stackTraceLimit;
    const cause = new QueueFullError('no room');
    const error = requestFailed('did:plc:abc', 'fetching https://plc.test failed', cause);
    expect(error).toBeInstanceOf(ResolutionFailedError);
    expect(error.cause).toBe(cause);
    expect(error.stack).toBe(`ResolutionFailedError: ${error.message}`);
    expect(Error.stackTraceLimit).toBe(limitBefore);
  });

  it('keeps the stack of any other failure', () => {
    const error = requestFailed('did:plc:abc', 'fetching https://plc.test failed', new TlsError('bad certificate'));
    expect(error.stack?.split('\n').length).toBeGreaterThan(1);
    expect(error.stack).toMatch(/request-failed\.test/);
  });
});
