import { isValidDid } from '../syntax/did.js';
import {
  AbortError,
  InternalTransportError,
  NetworkError,
  QueueFullError,
  TimeoutError,
  TransportClosedError,
  TransportDestroyedError,
  TransportError,
} from '../transport/errors.js';
import type { Transport } from '../transport/types.js';
import { ResolutionFailedError } from './errors.js';
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
 * Transport failures that say nothing about the handle: the request may
 * succeed if tried again. Every other transport error (TLS, DNS, refused
 * connection, forbidden address, redirect rules, oversized body, bad HTTP)
 * means this handle has no usable well-known answer, so the method answers
 * "none" and DNS (or the caller) decides.
 */
const TRANSIENT: readonly (abstract new (...args: never[]) => TransportError)[] = [
  TimeoutError,
  NetworkError,
  QueueFullError,
  InternalTransportError,
  TransportClosedError,
  TransportDestroyedError,
  AbortError,
];

/** The HTTPS well-known method: the body, trimmed, must be a valid DID. */
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
      if (error instanceof TransportError && !TRANSIENT.some((Class) => error instanceof Class)) return undefined;
      if (signal?.aborted) throw error;
      throw new ResolutionFailedError(handle, 'HTTPS well-known request failed', { cause: error });
    }
    if (response.status >= 500) {
      throw new ResolutionFailedError(handle, `HTTPS well-known answered ${response.status}`, { status: response.status });
    }
    if (response.status !== 200) return undefined;
    const did = response.body.toString('utf8').trim();
    return isValidDid(did) ? did : undefined;
  };
}
