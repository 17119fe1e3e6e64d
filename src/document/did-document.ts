import { ensureValidDid } from '../syntax/did.js';
import { MAX_COUNT, resolveOptions, type OptionSpec } from '../util/options.js';
import { describeType } from '../util/preview.js';
import { DidDocumentMismatchError, InvalidDidDocumentError } from './errors.js';

/**
 * Parsing untrusted DID documents into fresh, bounded, frozen objects.
 *
 * The document is returned as published: every field, `@context`,
 * `authentication`, `publicKeyJwk` and unknown extensions included, in
 * document order, so a PDS or AppView that re-serves it (`describeRepo`)
 * serves what was published. The fields atproto reads — `id`,
 * `alsoKnownAs`, `verificationMethod` (`id`, `type`, `controller`,
 * `publicKeyMultibase`) and `service` (`id`, `type`, `serviceEndpoint`) —
 * are checked against the shapes `@atproto/identity` accepts (plus the W3C
 * forms it rejects: a service `type` may be an array of strings and a
 * `serviceEndpoint` a map or set), so a document the reference
 * implementation accepts is not refused here for its shape. Every other
 * value must be JSON (string, finite number, boolean, null, array, object).
 *
 * Bounds hold for the whole document, known fields or not: its size, its
 * nesting depth, the entries of each array and the keys of each object,
 * and the length of each string and key. A document over any bound is
 * refused as a whole. Documents live for hours in caches of processes that
 * run for weeks, so what is kept must be bounded and predictable.
 *
 * No prototype is reachable: values are copied into fresh objects (own
 * data properties only, never through a setter), only own properties of
 * the input are read (an already-polluted `Object.prototype` injects
 * nothing), and `__proto__` and `constructor` keys are dropped wherever
 * they appear.
 */

/** A JSON value as kept from a document: fresh and frozen. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** A JSON object as kept from a document (a key is never `undefined`; the type admits typed optional fields). */
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}

/** A verification method (public key) entry of a DID document. */
export interface DidVerificationMethod {
  /** The key's id: relative (`#atproto`) or absolute (`did:plc:…#atproto`). */
  readonly id: string;
  /** The key type, e.g. `Multikey` or a legacy `EcdsaSecp256k1VerificationKey2019`. */
  readonly type: string;
  /** The DID that controls the key; atproto requires it to be the document's own DID. */
  readonly controller: string;
  /** The public key in multibase form, when present. */
  readonly publicKeyMultibase?: string;
  /** Every other field as published, e.g. `publicKeyJwk`. */
  readonly [field: string]: JsonValue | undefined;
}

/** A service entry of a DID document. */
export interface DidService {
  /** The service id: relative (`#atproto_pds`) or absolute (`did:plc:…#atproto_pds`). */
  readonly id: string;
  /** The service type, e.g. `AtprotoPersonalDataServer`; W3C also allows a list of types. */
  readonly type: string | readonly string[];
  /**
   * The endpoint: a URL string, or a map or set (valid W3C forms that
   * atproto does not use).
   */
  readonly serviceEndpoint: string | JsonObject | readonly JsonValue[];
  /** Every other field as published. */
  readonly [field: string]: JsonValue | undefined;
}

/**
 * A parsed DID document, as published: a fresh, deeply frozen object. The
 * fields atproto reads are typed and checked; every other field is kept as
 * a JSON value. Absent optional arrays stay absent.
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
  /** Every other field as published: `@context`, `authentication`, extensions. */
  readonly [field: string]: JsonValue | undefined;
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
   * Most entries in each array and keys in each object, anywhere in the
   * document. Default 64: real documents hold one to a few entries (atproto
   * reads only the first match) and objects a handful of keys; checked
   * before iterating, so a parsed value with a sparse 2^32−1 array costs
   * nothing.
   */
  maxEntries?: number;
  /**
   * Longest string and object key, in UTF-16 code units. Default 2048: the
   * longest DID atproto allows, and well above any URL or key atproto uses
   * (an RSA-8192 JWK modulus is 1,366).
   */
  maxStringLength?: number;
  /**
   * Deepest nesting: the document itself is depth 1, a verification
   * method 3, its `publicKeyJwk` 4. Default 16: a JSON-LD context nests a
   * few levels more; a hostile 100,000-level value is refused without
   * recursing into it.
   */
  maxDepth?: number;
}

const DID_DOCUMENT_SPEC: OptionSpec = {
  maxDocumentBytes: { kind: 'integer', default: 65_536, min: 1, max: MAX_COUNT },
  maxEntries: { kind: 'integer', default: 64, min: 1, max: MAX_COUNT },
  maxStringLength: { kind: 'integer', default: 2048, min: 1, max: MAX_COUNT },
  maxDepth: { kind: 'integer', default: 16, min: 2, max: 1_000 },
};

type ResolvedDidDocumentOptions = Required<DidDocumentOptions>;

/**
 * Validate `DidDocumentOptions` and fill in defaults.
 * @throws InvalidOptionsError naming the first bad option
 */
export function resolveDidDocumentOptions(options: DidDocumentOptions | undefined): ResolvedDidDocumentOptions {
  return resolveOptions<ResolvedDidDocumentOptions>(DID_DOCUMENT_SPEC, options, 'didDocument');
}

const DEFAULT_OPTIONS: ResolvedDidDocumentOptions = Object.freeze(resolveDidDocumentOptions({}));

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
  const limits = options === undefined ? DEFAULT_OPTIONS : resolveDidDocumentOptions(options);
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

/** Keys never copied: the routes to a prototype. */
const DROPPED_KEYS = new Set(['__proto__', 'constructor']);

/**
 * Where a value is, for error messages: built only when a message needs it
 * (most values are valid), from the path of its container and its key.
 * `"id"` at the top level, `"service"[0].serviceEndpoint` below.
 */
function pathOf(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? `"${key}"` : `${parent}.${key}`;
}

/** Reads one known field of an object: its value, the object's path and the key. */
type FieldReader = (value: unknown, parent: string, key: string, limits: ResolvedDidDocumentOptions) => unknown;

/**
 * Read an object's own keys in order, checked against the bounds, and
 * build a fresh frozen object from them: `known` reads the fields it names
 * (returning `undefined` leaves a field out), every other value is copied
 * as JSON. `Object.fromEntries` defines own data properties, so no setter
 * (on `Object.prototype` or anywhere) ever runs.
 */
function readObject(
  raw: Record<string, unknown>,
  path: string,
  depth: number,
  limits: ResolvedDidDocumentOptions,
  known: Readonly<Record<string, FieldReader>>,
): Record<string, unknown> {
  const keys = Object.keys(raw);
  if (keys.length > limits.maxEntries) {
    throw new Refusal(`${path || 'the document'} has ${keys.length} keys, more than maxEntries (${limits.maxEntries})`);
  }
  const entries: [string, unknown][] = [];
  for (const key of keys) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key.length > limits.maxStringLength) {
      throw new Refusal(`${path || 'the document'} has a key of ${key.length} characters, more than maxStringLength (${limits.maxStringLength})`);
    }
    const value = raw[key];
    const read = Object.hasOwn(known, key) ? known[key] : undefined;
    const kept = read ? read(value, path, key, limits) : readJson(value, path, key, depth + 1, limits);
    if (kept !== undefined) entries.push([key, kept]);
  }
  return Object.freeze(Object.fromEntries(entries));
}

/** Any JSON value, copied within the bounds; `undefined` (a JS value JSON drops) is left out. */
function readJson(
  value: unknown,
  parent: string,
  key: string | number,
  depth: number,
  limits: ResolvedDidDocumentOptions,
): JsonValue | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'string':
      return readString(value, parent, key, limits);
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(`${pathOf(parent, key)} must be a JSON value, got ${value}`);
      return value;
    case 'object': {
      if (value === null) return null;
      const path = pathOf(parent, key);
      if (depth > limits.maxDepth) {
        throw new Refusal(`${path} is nested deeper than maxDepth (${limits.maxDepth})`);
      }
      if (Array.isArray(value)) {
        return readList(value, path, limits, (item, itemParent, index) => readJson(item, itemParent, index, depth + 1, limits) ?? null);
      }
      return readObject(value as Record<string, unknown>, path, depth, limits, NO_KNOWN_FIELDS) as JsonObject;
    }
    default:
      throw new Refusal(`${pathOf(parent, key)} must be a JSON value, got ${describeType(value)}`);
  }
}

const NO_KNOWN_FIELDS: Readonly<Record<string, FieldReader>> = Object.freeze({});

/** Entries of the known arrays are at depth 3. */
const ENTRY_DEPTH = 3;

const stringField: FieldReader = (value, parent, key, limits) => readString(value, parent, key, limits);

/** The document's known fields (`id` was checked before). The document is depth 1; its arrays 2; their entries 3. */
const DOCUMENT_FIELDS: Readonly<Record<string, FieldReader>> = Object.freeze({
  id: (value) => value,
  alsoKnownAs: (value, parent, key, limits) => readArray(value, pathOf(parent, key), limits, (item, itemParent, index) => readString(item, itemParent, index, limits)),
  verificationMethod: (value, parent, key, limits) =>
    readArray(value, pathOf(parent, key), limits, (item, itemParent, index) => readMethod(item, pathOf(itemParent, index), limits)),
  service: (value, parent, key, limits) =>
    readArray(value, pathOf(parent, key), limits, (item, itemParent, index) => readService(item, pathOf(itemParent, index), limits)),
});

function readDocument(raw: unknown, expectedDid: string, limits: ResolvedDidDocumentOptions): DidDocument {
  if (!isRecord(raw)) throw new Refusal(`the document must be a JSON object, got ${describeType(raw)}`);
  const id = own(raw, 'id');
  if (typeof id !== 'string') throw new Refusal(`"id" must be a string, got ${describeType(id)}`);
  if (id !== expectedDid) throw new DidDocumentMismatchError(expectedDid, id);
  return readObject(raw, '', 1, limits, DOCUMENT_FIELDS) as unknown as DidDocument;
}

/** A known array field: absent stays absent; anything else must be an array. */
function readArray<T>(
  value: unknown,
  path: string,
  limits: ResolvedDidDocumentOptions,
  readItem: (value: unknown, parent: string, index: number) => T,
): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return readList(value, path, limits, readItem);
}

function readList<T>(
  value: unknown,
  path: string,
  limits: ResolvedDidDocumentOptions,
  readItem: (value: unknown, parent: string, index: number) => T,
): readonly T[] {
  if (!Array.isArray(value)) throw new Refusal(`${path} must be an array, got ${describeType(value)}`);
  const length = value.length;
  if (length > limits.maxEntries) {
    throw new Refusal(`${path} has ${length} entries, more than maxEntries (${limits.maxEntries})`);
  }
  const out: T[] = [];
  for (let i = 0; i < length; i++) out.push(readItem(value[i], path, i));
  return Object.freeze(out);
}

function readString(value: unknown, parent: string, key: string | number, limits: ResolvedDidDocumentOptions): string {
  if (typeof value !== 'string') throw new Refusal(`${pathOf(parent, key)} must be a string, got ${describeType(value)}`);
  if (value.length > limits.maxStringLength) {
    throw new Refusal(`${pathOf(parent, key)} is ${value.length} characters, more than maxStringLength (${limits.maxStringLength})`);
  }
  return value;
}

const METHOD_FIELDS: Readonly<Record<string, FieldReader>> = Object.freeze({
  id: stringField,
  type: stringField,
  controller: stringField,
  publicKeyMultibase: (value, parent, key, limits) => (value === undefined ? undefined : readString(value, parent, key, limits)),
});

function readMethod(value: unknown, path: string, limits: ResolvedDidDocumentOptions): DidVerificationMethod {
  if (!isRecord(value)) throw new Refusal(`${path} must be an object, got ${describeType(value)}`);
  // Required fields are read even when absent, so a missing one is refused.
  readString(own(value, 'id'), path, 'id', limits);
  readString(own(value, 'type'), path, 'type', limits);
  readString(own(value, 'controller'), path, 'controller', limits);
  return readObject(value, path, ENTRY_DEPTH, limits, METHOD_FIELDS) as unknown as DidVerificationMethod;
}

const SERVICE_FIELDS: Readonly<Record<string, FieldReader>> = Object.freeze({
  id: stringField,
  type: (value, parent, key, limits) =>
    Array.isArray(value)
      ? readList(value, pathOf(parent, key), limits, (item, itemParent, index) => readString(item, itemParent, index, limits))
      : readString(value, parent, key, limits),
  // A map or a set (object or array) is valid W3C: kept as JSON, within the bounds.
  serviceEndpoint: (value, parent, key, limits) => readJson(value, parent, key, ENTRY_DEPTH + 1, limits),
});

function readService(value: unknown, path: string, limits: ResolvedDidDocumentOptions): DidService {
  if (!isRecord(value)) throw new Refusal(`${path} must be an object, got ${describeType(value)}`);
  readString(own(value, 'id'), path, 'id', limits);
  const rawType = own(value, 'type');
  if (!Array.isArray(rawType)) readString(rawType, path, 'type', limits);
  const rawEndpoint = own(value, 'serviceEndpoint');
  if (typeof rawEndpoint !== 'string' && (typeof rawEndpoint !== 'object' || rawEndpoint === null)) {
    throw new Refusal(`${path}.serviceEndpoint must be a string, map or set, got ${describeType(rawEndpoint)}`);
  }
  return readObject(value, path, ENTRY_DEPTH, limits, SERVICE_FIELDS) as unknown as DidService;
}
