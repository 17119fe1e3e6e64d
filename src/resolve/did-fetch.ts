import { parseDidDocument, type DidDocument, type DidDocumentOptions } from '../document/did-document.js';
import { InvalidDidDocumentError } from '../document/errors.js';
import { ResponseTooLargeError } from '../transport/errors.js';
import type { Transport } from '../transport/types.js';
import { requestFailed, ResolutionFailedError } from './errors.js';

/** Sent with every document request; frozen, so the transport merges it with its defaults once. */
const DID_DOCUMENT_HEADERS = Object.freeze({ accept: 'application/did+ld+json, application/json' });

/** What a DID method needs to fetch a document. */
export interface DidFetchContext {
  transport: Transport;
  timeoutMs: number;
  document: Required<DidDocumentOptions>;
}

/** A fetched document, or `null` when the authority said it does not exist, plus its size for the cache. */
export interface FetchedDidDocument {
  doc: DidDocument | null;
  /** Bytes of the response body. */
  bodyBytes: number;
}

/**
 * GET a DID document from `url` (no redirects) and parse it.
 *
 * @param notFound HTTP statuses that mean "no such DID" for this method
 * @throws ResolutionFailedError for transport failures and other non-200 statuses
 * @throws InvalidDidDocumentError / DidDocumentMismatchError for a bad document
 */
export async function fetchDidDocument(
  ctx: DidFetchContext,
  did: string,
  url: string,
  notFound: (status: number) => boolean,
  signal?: AbortSignal,
): Promise<FetchedDidDocument> {
  let response;
  try {
    response = await ctx.transport.request(url, {
      headers: DID_DOCUMENT_HEADERS,
      timeoutMs: ctx.timeoutMs,
      maxResponseBytes: ctx.document.maxDocumentBytes,
      maxRedirects: 0,
      signal,
    });
  } catch (error) {
    if (error instanceof ResponseTooLargeError) {
      throw new InvalidDidDocumentError(did, `document is larger than ${ctx.document.maxDocumentBytes} bytes`, { cause: error });
    }
    if (signal?.aborted) throw error;
    throw requestFailed(did, `fetching ${new URL(url).origin} failed`, error);
  }
  if (response.status === 200) {
    return { doc: parseDidDocument(response.body, did, ctx.document), bodyBytes: response.body.length };
  }
  if (notFound(response.status)) return { doc: null, bodyBytes: 0 };
  throw new ResolutionFailedError(did, `${new URL(url).origin} answered HTTP ${response.status}`, { status: response.status });
}
