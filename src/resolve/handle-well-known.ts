import { AbortError } from '../errors.js';
import { isValidDid } from '../syntax/did.js';
import { DnsError } from '../transport/errors.js';
import type { Transport } from '../transport/types.js';
import { requestFailed, ResolutionFailedError } from './errors.js';
import type { HandleMethod } from './types.js';

/** Options for `https://<handle>/.well-known/atproto-did` lookups. */
export interface WellKnownOptions {
  transport: Transport;
  timeoutMs: number;
  /** Cap on the body; a DID is at most 2,048 characters. */
  maxResponseBytes: number;
  /** Redirects followed, each re-checked by the transport's rules. */
  maxRedirects: number;
}

/**
 * The HTTPS well-known method. Only a definitive answer is "none" (cached
 * briefly as not found), as indigo decides it:
 * - the host does not exist: a `DnsError` that is `definitive` (NXDOMAIN,
 *   or no address record);
 * - HTTP 404;
 * - HTTP 200 whose body, trimmed, is not a valid DID.
 *
 * Everything else says nothing about the handle and may succeed when tried
 * again, so it is thrown as `ResolutionFailedError` (`cause` the transport
 * error, `status` the HTTP status) and never cached: a refused connection,
 * an untrusted certificate, a DNS failure that is not definitive (SERVFAIL,
 * timeout, or a transport that cannot tell), a forbidden address, a
 * redirect that breaks a rule, an oversized body, any other status.
 * A cancelled call rejects with its `AbortError`.
 */
export function createWellKnownMethod(options: WellKnownOptions): HandleMethod {
  return async (handle, signal) => {
    let response;
    try {
      response = await options.transport.request(`https://${handle}/.well-known/atproto-did`, {
        timeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes,
        maxRedirects: options.maxRedirects,
        signal,
      });
    } catch (error) {
      if (error instanceof DnsError && error.definitive) return undefined;
      if (error instanceof AbortError || signal?.aborted) throw error;
      throw requestFailed(handle, 'HTTPS well-known request failed', error);
    }
    if (response.status === 404) return undefined;
    if (response.status !== 200) {
      throw new ResolutionFailedError(handle, `HTTPS well-known answered HTTP ${response.status}`, { status: response.status });
    }
    const did = response.body.toString('utf8').trim();
    return isValidDid(did) ? did : undefined;
  };
}
