import type { DnsResolver } from '../dns/resolver.js';
import { DnsError } from '../transport/errors.js';
import { ResolutionFailedError } from './errors.js';
import { didFromTxtRecords } from './txt-records.js';
import type { HandleMethod } from './types.js';

/**
 * `_atproto.<handle>` TXT lookups through a `DnsResolver`: bounded, fair,
 * and within `dns.timeoutMs × dns.tries` (or the caller's signal). NXDOMAIN
 * and NODATA are the authoritative "none"; every other failure is
 * transient (`ResolutionFailedError`).
 */
export function createDnsTxtMethod(dns: DnsResolver): HandleMethod {
  return async (handle, signal) => {
    const name = `_atproto.${handle}`;
    let records: string[][];
    try {
      records = await dns.resolveTxt(name, { signal });
    } catch (error) {
      if (error instanceof DnsError && error.definitive) return undefined;
      if (signal?.aborted) throw error;
      const why = error instanceof DnsError ? error.message : String(error);
      throw new ResolutionFailedError(handle, `DNS TXT lookup of ${name} failed: ${why}`, { cause: error });
    }
    return didFromTxtRecords(handle, records);
  };
}
