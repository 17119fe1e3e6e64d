import { isValidDid } from '../syntax/did.js';
import { AmbiguousHandleError } from './errors.js';

/** The TXT record prefix that names a handle's DID. */
const DID_PREFIX = 'did=';

/**
 * At most this many TXT records are examined. A handle needs one; a
 * domain answering with a flood of records gets the first 64 read, which
 * is far beyond any real zone and bounds the work per lookup.
 */
export const MAX_TXT_RECORDS = 64;

/**
 * Pick the DID out of the TXT records at `_atproto.<handle>`.
 *
 * Each record is the concatenation of its character strings. Records not
 * starting with `did=` are ignored, as are `did=` values that are not valid
 * DIDs. Several records naming the same DID are fine.
 *
 * @returns the DID, or `undefined` when no record names a valid DID
 * @throws AmbiguousHandleError when records name different DIDs
 */
export function didFromTxtRecords(handle: string, records: readonly (readonly (string | Uint8Array)[])[]): string | undefined {
  const dids = new Set<string>();
  for (const chunks of records.slice(0, MAX_TXT_RECORDS)) {
    const text = chunks.map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'))).join('');
    if (!text.startsWith(DID_PREFIX)) continue;
    const did = text.slice(DID_PREFIX.length).trim();
    if (isValidDid(did)) dids.add(did);
  }
  if (dids.size > 1) throw new AmbiguousHandleError(handle, [...dids]);
  return dids.values().next().value;
}
