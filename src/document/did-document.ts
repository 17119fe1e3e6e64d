import { ensureValidDid } from '../syntax/did.js';
import { MAX_COUNT, resolveOptions, type OptionSpec } from '../util/options.js';
import { describeType } from '../util/preview.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from './errors.js';

/**
 * Parsing untrusted DID documents into a small, bounded, frozen shape.
 *
 * Only the fields atproto reads are kept: `id`, `alsoKnownAs`,
 * `verificationMethod` (`id`, `type`, `controller`, `publicKeyMultibase`)
 * and `service` (`id`, `type`, `serviceEndpoint`). Everything else
 * (`@context`, `authentication`, `publicKeyJwk`, unknown extensions) is
 * dropped without being read. Reasons: documents are cached for hours in
 * processes that run for weeks, so what we keep must be bounded and
 * predictable; nothing untrusted and arbitrarily deep ever reaches callers;
 * and copying known fields into fresh object literals leaves no path for
 * `__proto__` / `constructor` keys to reach any prototype.
 *
 * The kept fields are checked against the shapes `@atproto/identity`
 * accepts (plus the W3C forms it rejects: a service `type` may be an array
 * of strings and a `serviceEndpoint` a map or set), so a document the
 * reference implementation accepts is not refused here for its shape.
 */

/** A verification method (public key) entry, as kept from a DID document. */
export interface DidVerificationMethod {
  /** The key's id: relative (`#atproto`) or absolute (`did:plc:…#atproto`). */
  readonly id: string;
  /** The key type, e.g. `Multikey` or a legacy `EcdsaSecp256k1VerificationKey2019`. */
  readonly type: string;
  /** The DID that controls the key; atproto requires it to be the document's own DID. */
  readonly controller: string;
  /** The public key in multibase form, when present (other key encodings are dropped). */
  readonly publicKeyMultibase?: string;
}

/** A service entry, as kept from a DID document. */
export interface DidService {
  /** The service id: relative (`#atproto_pds`) or absolute (`did:plc:…#atproto_pds`). */
  readonly id: string;
  /** The service type, e.g. `AtprotoPersonalDataServer`; W3C also allows a list of types. */
  readonly type: string | readonly string[];
  /**
   * The endpoint URL when the document gave a string. `undefined` when it
   * gave a map or a set (valid W3C forms, not used by atproto, not kept).
   */
  readonly serviceEndpoint: string | undefined;
}

/**
 * A parsed DID document: a fresh, deeply frozen object holding only the
 * fields atproto uses (see the module notes). Absent optional arrays stay
 * absent rather than becoming empty arrays.
 */
export interface DidDocument {
  /** The DID the document describes; {@link parseDidDocument} guarantees it equals the requested DID. */
  readonly id: string;
  /** Other identifiers for the subject, in document order; `at://<handle>` entries are handles. */
  readonly alsoKnownAs?: readonly string[];
  /** Public keys, in document order. */
  readonly verificationMethod?: readonly DidVerificationMethod[];
  /** Service endpoints, in document order. */
  readonly service?: readonly DidService[];
}

/** Bounds applied while parsing a DID document. A document exceeding any bound is refused as a whole. */
export interface DidDocumentOptions {
  /**
   * Largest document accepted as bytes (`Uint8Array`) or as a string (then
   * counted in UTF-16 code units). Default 65536: PLC documents are 1–2 KB
   * and did:web documents in the wild a few KB, so 64 KiB is ample headroom
   * while capping the cost of a hostile document. Does not apply to an
   * already-parsed value.
   */
  maxDocumentBytes?: number;
  /**
   * Most entries in each kept array (`alsoKnownAs`, `verificationMethod`,
   * `service`, and a service's `type` list). Default 64: real documents
   * hold one to a few entries, and atproto reads only the first match.
   */
  maxEntries?: number;
  /**
   * Longest kept string (ids, types, URLs, keys), in UTF-16 code units.
   * Default 2048: the longest DID atproto allows, and well above any URL or
   * multibase key atproto uses.
   */
  maxStringLength?: number;
}

const DID_DOCUMENT_SPEC: OptionSpec = {
  maxDocumentBytes: { kind: 'integer', default: 65_536, min: 1, max: MAX_COUNT },
  maxEntries: { kind: 'integer', default: 64, min: 1, max: MAX_COUNT },
  maxStringLength: { kind: 'integer', default: 2048, min: 1, max: MAX_COUNT },
};

interface ResolvedDidDocumentOptions {
  maxDocumentBytes: number;
  maxEntries: number;
  maxStringLength: number;
}

const DEFAULT_OPTIONS: ResolvedDidDocumentOptions = Object.freeze(
  resolveOptions<ResolvedDidDocumentOptions>(DID_DOCUMENT_SPEC, {}, 'didDocument'),
);

/** Thrown inside the parser; turned into InvalidDidDocumentError at the top. */
class Refusal {
  constructor(
    readonly detail: string,
    readonly cause?: unknown,
  ) {}
}

/**
 * Parse an untrusted DID document and check that it describes
 * `expectedDid`.
 *
 * `input` may be the raw body (`Uint8Array`, decoded as strict UTF-8), a
 * JSON string, or an already-parsed value. Whatever it holds — invalid
 * UTF-8 or JSON, 100,000-level nesting, million-entry arrays, getters that
 * throw, `__proto__` keys, wrong types — the outcome is a {@link DidDocument}
 * or one of the typed errors below, never another exception. Only own
 * properties of the input are read. The result shares nothing with the
 * input and is deeply frozen.
 *
 * @param input the document: bytes, JSON text, or a parsed value
 * @param expectedDid the DID that was resolved; the document's `id` must equal it exactly
 * @param options bounds; see {@link DidDocumentOptions}
 * @throws InvalidDidDocumentError when the document is unreadable, malformed or over a bound
 * @throws DidDocumentMismatchError when the document's `id` is a string other than `expectedDid`
 * @throws InvalidDidError when `expectedDid` itself is not a valid DID (a caller bug)
 * @throws InvalidOptionsError for bad `options`
 */
export function parseDidDocument(input: unknown, expectedDid: string, options?: DidDocumentOptions): DidDocument {
  ensureValidDid(expectedDid);
  const limits =
    options === undefined
      ? DEFAULT_OPTIONS
      : resolveOptions<ResolvedDidDocumentOptions>(DID_DOCUMENT_SPEC, options, 'didDocument');
  try {
    return readDocument(decode(input, limits), expectedDid, limits);
  } catch (err) {
    if (err instanceof DidDocumentMismatchError) throw err;
    if (err instanceof Refusal) throw new InvalidDidDocumentError(expectedDid, err.detail, { cause: err.cause });
    // Anything else came from the input itself (a throwing getter or Proxy
    // trap, a RangeError from an exotic object): still a bad document.
    throw new InvalidDidDocumentError(expectedDid, 'the document could not be read', { cause: err });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(input: unknown, limits: ResolvedDidDocumentOptions): unknown {
  let text: string;
  if (input instanceof Uint8Array) {
    if (input.byteLength > limits.maxDocumentBytes) {
      throw new Refusal(`the document is ${input.byteLength} bytes, more than maxDocumentBytes (${limits.maxDocumentBytes})`);
    }
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new Refusal('the document is not valid UTF-8', cause);
    }
  } else if (typeof input === 'string') {
    if (input.length > limits.maxDocumentBytes) {
      throw new Refusal(`the document is ${input.length} characters, more than maxDocumentBytes (${limits.maxDocumentBytes})`);
    }
    text = input;
  } else {
    return input;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // SyntaxError for bad JSON; RangeError if an engine ever gives up on depth.
    throw new Refusal('the document is not valid JSON', cause);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property, or `undefined`: inherited (possibly polluted) properties are never read. */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function readDocument(raw: unknown, expectedDid: string, limits: ResolvedDidDocumentOptions): DidDocument {
  if (!isRecord(raw)) throw new Refusal(`the document must be a JSON object, got ${describeType(raw)}`);
  const id = own(raw, 'id');
  if (typeof id !== 'string') throw new Refusal(`"id" must be a string, got ${describeType(id)}`);
  if (id !== expectedDid) throw new DidDocumentMismatchError(expectedDid, id);

  const doc: {
    id: string;
    alsoKnownAs?: readonly string[];
    verificationMethod?: readonly DidVerificationMethod[];
    service?: readonly DidService[];
  } = { id };
  const aka = readArray(raw, 'alsoKnownAs', limits, (value, path) => readString(value, path, limits));
  if (aka !== undefined) doc.alsoKnownAs = aka;
  const methods = readArray(raw, 'verificationMethod', limits, (value, path) => readMethod(value, path, limits));
  if (methods !== undefined) doc.verificationMethod = methods;
  const services = readArray(raw, 'service', limits, (value, path) => readService(value, path, limits));
  if (services !== undefined) doc.service = services;
  return Object.freeze(doc);
}

function readArray<T>(
  raw: Record<string, unknown>,
  key: string,
  limits: ResolvedDidDocumentOptions,
  readItem: (value: unknown, path: string) => T,
): readonly T[] | undefined {
  const value = own(raw, key);
  if (value === undefined) return undefined;
  return readList(value, `"${key}"`, limits, readItem);
}

function readList<T>(
  value: unknown,
  path: string,
  limits: ResolvedDidDocumentOptions,
  readItem: (value: unknown, path: string) => T,
): readonly T[] {
  if (!Array.isArray(value)) throw new Refusal(`${path} must be an array, got ${describeType(value)}`);
  const length = value.length;
  if (length > limits.maxEntries) {
    throw new Refusal(`${path} has ${length} entries, more than maxEntries (${limits.maxEntries})`);
  }
  const out: T[] = [];
  for (let i = 0; i < length; i++) out.push(readItem(value[i], `${path}[${i}]`));
  return Object.freeze(out);
}

function readString(value: unknown, path: string, limits: ResolvedDidDocumentOptions): string {
  if (typeof value !== 'string') throw new Refusal(`${path} must be a string, got ${describeType(value)}`);
  if (value.length > limits.maxStringLength) {
    throw new Refusal(`${path} is ${value.length} characters, more than maxStringLength (${limits.maxStringLength})`);
  }
  return value;
}

function readMethod(value: unknown, path: string, limits: ResolvedDidDocumentOptions): DidVerificationMethod {
  if (!isRecord(value)) throw new Refusal(`${path} must be an object, got ${describeType(value)}`);
  const method: { id: string; type: string; controller: string; publicKeyMultibase?: string } = {
    id: readString(own(value, 'id'), `${path}.id`, limits),
    type: readString(own(value, 'type'), `${path}.type`, limits),
    controller: readString(own(value, 'controller'), `${path}.controller`, limits),
  };
  const key = own(value, 'publicKeyMultibase');
  if (key !== undefined) method.publicKeyMultibase = readString(key, `${path}.publicKeyMultibase`, limits);
  return Object.freeze(method);
}

function readService(value: unknown, path: string, limits: ResolvedDidDocumentOptions): DidService {
  if (!isRecord(value)) throw new Refusal(`${path} must be an object, got ${describeType(value)}`);
  const id = readString(own(value, 'id'), `${path}.id`, limits);
  const rawType = own(value, 'type');
  const type = Array.isArray(rawType)
    ? readList(rawType, `${path}.type`, limits, (item, itemPath) => readString(item, itemPath, limits))
    : readString(rawType, `${path}.type`, limits);
  const rawEndpoint = own(value, 'serviceEndpoint');
  let serviceEndpoint: string | undefined;
  if (typeof rawEndpoint === 'string') {
    serviceEndpoint = readString(rawEndpoint, `${path}.serviceEndpoint`, limits);
  } else if (typeof rawEndpoint !== 'object' || rawEndpoint === null) {
    // A map or a set (object or array) is valid W3C and is not kept; it is not read either.
    throw new Refusal(`${path}.serviceEndpoint must be a string, map or set, got ${describeType(rawEndpoint)}`);
  }
  return Object.freeze({ id, type, serviceEndpoint });
}
