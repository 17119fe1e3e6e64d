import type { ResolvableDid } from '../syntax/did.js';

/**
 * The DID methods atresolve resolves, as one table (the shape of
 * `@atproto/identity`'s methods map and atcute's composite resolver): for
 * each method, where its documents are and which answer means "no such
 * DID". The resolver, its method names and its metric labels derive from
 * the keys. A new DID method is its syntax rule (`src/syntax/did.ts`) plus
 * one row here; the table's type asks for exactly one row per rule.
 */

/** What a method needs from the resolver's settings to locate a document. */
export interface DidMethodContext {
  /** The PLC directory, e.g. `https://plc.directory`. */
  plcUrl: string;
}

/** How one DID method is resolved. */
export interface DidMethod<Info extends ResolvableDid = ResolvableDid> {
  /** The URL of the DID's document, fetched with one GET and no redirects. */
  documentUrl(info: Info, context: DidMethodContext): string;
  /**
   * Whether an HTTP status from that URL is the authority saying the DID
   * does not exist: a "not found", cached for `negativeTtlMs`. Any other
   * status but 200 is a transient failure, never cached.
   */
  notFound(status: number): boolean;
}

type DidMethodTable = {
  readonly [M in ResolvableDid['method']]: DidMethod<Extract<ResolvableDid, { method: M }>>;
};

/** The methods, keyed by DID method name. */
export const DID_METHODS: DidMethodTable = {
  plc: {
    documentUrl: (info, { plcUrl }) => `${plcUrl.replace(/\/+$/, '')}/${encodeURIComponent(info.did)}`,
    // 404 is an unknown DID, 410 a tombstoned one.
    notFound: (status) => status === 404 || status === 410,
  },
  web: {
    documentUrl: (info) => `${info.isLocalhost ? 'http' : 'https'}://${info.authority}/.well-known/did.json`,
    // A client error from the host means it has no document for this DID,
    // except 408 and 429, which say "try again later".
    notFound: (status) => status >= 400 && status < 500 && status !== 408 && status !== 429,
  },
};

/** A DID method atresolve resolves. */
export type DidMethodName = keyof DidMethodTable;

/** The method names, in table order. */
export const DID_METHOD_NAMES: readonly DidMethodName[] = Object.freeze(Object.keys(DID_METHODS) as DidMethodName[]);

/** The row for a DID that passed `ensureResolvableDid()`. */
export function didMethodOf(info: ResolvableDid): DidMethod {
  // The key is the info's own method, so the row takes this info.
  return DID_METHODS[info.method] as DidMethod;
}

/**
 * The method label of a DID input for counters and metrics: its method when
 * atresolve resolves that method (even if this DID turns out malformed),
 * else `other` (another method such as `did:key`, or no DID at all).
 */
export function didMethodLabel(input: unknown): DidMethodName | 'other' {
  if (typeof input !== 'string' || !input.startsWith('did:')) return 'other';
  const end = input.indexOf(':', 4);
  const method = input.slice(4, end === -1 ? input.length : end);
  return Object.hasOwn(DID_METHODS, method) ? (method as DidMethodName) : 'other';
}
