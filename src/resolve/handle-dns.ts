import { Resolver } from 'node:dns/promises';
import { untilAborted } from '../util/abort.js';
import { ResolutionFailedError } from './errors.js';
import { didFromTxtRecords } from './txt-records.js';
import type { HandleMethod } from './types.js';

/** Options for TXT lookups through the system's (or given) DNS servers. */
export interface DnsTxtOptions {
  /** DNS servers as `ip` or `ip:port` (IPv6 in brackets with a port). Default: the system's servers. */
  nameservers: readonly string[];
  /** Time limit per try in milliseconds. */
  timeoutMs: number;
  /** Tries per server before giving up. */
  tries: number;
}

/**
 * DNS error codes that are an authoritative "no such record": the name
 * does not exist (NXDOMAIN) or has no TXT records (NODATA). Every other
 * code (SERVFAIL, timeouts, refused, bad responses) is transient.
 */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * `_atproto.<handle>` TXT lookups through node's c-ares `Resolver`, one
 * per instance with its own servers, timeout and tries.
 */
export function createDnsTxtMethod(options: DnsTxtOptions): HandleMethod {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.nameservers.length > 0) resolver.setServers([...options.nameservers]);
  return async (handle, signal) => {
    const name = `_atproto.${handle}`;
    let records: string[][];
    try {
      // c-ares cannot cancel one query: stop waiting, the query runs to its own timeout.
      records = await untilAborted(resolver.resolveTxt(name), signal);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) return undefined;
      if (signal?.aborted) throw error;
      throw new ResolutionFailedError(handle, `DNS TXT lookup of ${name} failed (${String(code ?? error)})`, { cause: error });
    }
    return didFromTxtRecords(handle, records);
  };
}
