import { resolveOptions, type OptionSpec } from '../util/options.js';
import { InvalidDidError, UnsupportedDidMethodError } from './errors.js';
import { isValidHandle, normalizeHandle, tldRestriction } from './handle.js';
import { scanDid, scanPlcDid } from './scan.js';

/**
 * DID syntax, per https://atproto.com/specs/did, and the method rules
 * atproto adds for `did:plc` and `did:web`.
 *
 * Two layers, kept apart on purpose (the spec asks implementations to tell
 * "invalid DID syntax" from "unsupported DID method"):
 * - syntax (`isValidDid`, `ensureValidDid`): any method, e.g. `did:key:…`.
 * - resolution (`isResolvableDid`, `ensureResolvableDid`, `parseDidWeb`):
 *   only `did:plc` and `did:web`, with their method-specific rules.
 *
 * No normalization: DIDs are case-sensitive and the spec says to reject
 * invalid casing rather than fix it, so `did:plc:ABC…` and
 * `did:web:Example.com` are refused (reason `method-syntax`), never
 * lowercased. The DID document's `id` must then equal the DID exactly.
 */

/** Longest DID in characters (atproto's "initial hard limit"). */
export const DID_MAX_LENGTH = 2048;

// The accepted set is the spec's starting-point regex, tightened to require
// every `%` to be followed by two hex digits (the spec: "must always be
// followed by two hex characters"); the identifier cannot end in `:` or `%`.
// `scanDid` (./scan.ts) checks it without a regex; these only say why a
// refused DID was refused.
const DISALLOWED_CHAR_RE = /[^a-zA-Z0-9._:%-]/;
const BAD_ESCAPE_RE = /%(?![0-9A-Fa-f]{2})/;
const LOCALHOST_PORT_RE = /^localhost%3[aA](.*)$/;
const PORT_RE = /^[1-9][0-9]{0,4}$/;

/**
 * Whether `input` is a syntactically valid DID: `did:`, a method of one or
 * more lowercase letters, `:`, and an identifier of ASCII letters, digits
 * and `._:%-` that does not end in `:` or `%`, where every `%` starts a
 * two-hex-digit escape; at most 2048 characters. Any method is accepted.
 *
 * Never throws; any non-string is `false`.
 */
export function isValidDid(input: unknown): input is string {
  return typeof input === 'string' && scanDid(input, DID_MAX_LENGTH);
}

/**
 * Throw {@link InvalidDidError} (reason `syntax`) unless `input` is a
 * syntactically valid DID, with a message naming the first rule broken.
 * Accepts exactly what {@link isValidDid} accepts.
 */
export function ensureValidDid(input: unknown): asserts input is string {
  if (typeof input === 'string' && scanDid(input, DID_MAX_LENGTH)) return;
  const fail = (detail: string): never => {
    throw new InvalidDidError(input, 'syntax', detail);
  };
  if (typeof input !== 'string') fail('a DID must be a string');
  const did = input as string;
  if (did.length > DID_MAX_LENGTH) fail(`a DID is at most ${DID_MAX_LENGTH} characters`);
  if (!did.startsWith('did:')) fail('a DID starts with lowercase "did:"');
  const bad = DISALLOWED_CHAR_RE.exec(did);
  if (bad) {
    const cp = did.codePointAt(bad.index) ?? 0;
    fail(
      `character U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${bad.index} is not allowed ` +
        '(ASCII letters, digits and "._:%-" only)',
    );
  }
  const methodEnd = did.indexOf(':', 4);
  if (methodEnd === -1) fail('a DID needs a method and a method-specific identifier ("did:<method>:<id>")');
  if (!/^[a-z]+$/.test(did.slice(4, methodEnd))) fail('the DID method must be one or more lowercase letters');
  if (methodEnd === did.length - 1) fail('the method-specific identifier cannot be empty');
  if (did.endsWith(':') || did.endsWith('%')) fail('a DID cannot end with ":" or "%"');
  if (BAD_ESCAPE_RE.test(did)) fail('"%" must start a two-hex-digit escape');
  // The scanner is the rule; the checks above only name the first break.
  fail('not a valid DID');
}

/**
 * The method of a syntactically valid DID (`plc` for `did:plc:…`). The
 * result is meaningless for an invalid DID; validate first.
 */
export function getDidMethod(did: string): string {
  const end = did.indexOf(':', 4);
  return did.slice(4, end === -1 ? did.length : end);
}

/**
 * Whether `input` is a `did:plc` DID in its only valid form: `did:plc:`
 * followed by exactly 24 lowercase base32 characters (`a-z`, `2-7`).
 */
export function isPlcDid(input: unknown): input is string {
  return typeof input === 'string' && scanPlcDid(input);
}

/** A `did:plc` DID that passed {@link ensureResolvableDid}. */
export interface PlcDidInfo {
  readonly method: 'plc';
  readonly did: string;
}

/**
 * A `did:web` DID taken apart by {@link parseDidWeb}. atproto supports only
 * hostname-level `did:web` (no path), so the document URL is always
 * `<scheme>://<authority>/.well-known/did.json`. This layer does not pick
 * the scheme: `isLocalhost` tells the resolver it has a development host,
 * which it may fetch over `http` only if its caller allows `http`.
 */
export interface WebDidInfo {
  readonly method: 'web';
  /** The DID, unchanged. */
  readonly did: string;
  /** The hostname, lowercase (the DID is refused if it is not), e.g. `example.com`. */
  readonly hostname: string;
  /** The port from `did:web:localhost%3A<port>`; `undefined` otherwise (only localhost may have a port). */
  readonly port: number | undefined;
  /** True for `localhost` (with or without a port): a testing/development host. */
  readonly isLocalhost: boolean;
  /** `hostname` or `hostname:port`, ready for a URL. */
  readonly authority: string;
}

/** A DID of a supported method that passed {@link ensureResolvableDid}. */
export type ResolvableDid = PlcDidInfo | WebDidInfo;

/**
 * Take a `did:web` DID apart, checking the atproto `did:web` syntax rules
 * but not the resolution policy (TLDs, localhost) — see
 * {@link ensureResolvableDid} for that. The rules:
 * - hostname only: no further `:` (path-based `did:web` is not supported);
 * - no `%`-escapes except the port form `localhost%3A<port>`
 *   (`%3a` also accepted), port 1–65535 without leading zeros, and only for
 *   the exact host `localhost`;
 * - otherwise the host must be a valid hostname by the handle syntax rules
 *   (which refuse IP addresses) and must be lowercase.
 *
 * @throws InvalidDidError reason `syntax` if `did` is not a valid DID,
 *   `method-syntax` if it is not a valid atproto `did:web`.
 */
export function parseDidWeb(did: string): WebDidInfo {
  ensureValidDid(did);
  if (!did.startsWith('did:web:')) throw new InvalidDidError(did, 'method-syntax', 'not a did:web DID');
  const id = did.slice('did:web:'.length);
  if (id.includes(':')) {
    throw new InvalidDidError(did, 'method-syntax', 'path-based did:web DIDs are not supported in atproto');
  }
  if (id.includes('%')) {
    const match = LOCALHOST_PORT_RE.exec(id);
    if (match) {
      const digits = match[1] as string;
      const port = Number(digits);
      if (!PORT_RE.test(digits) || port > 65535) {
        throw new InvalidDidError(
          did,
          'method-syntax',
          'the localhost port must be 1-65535 in decimal digits without leading zeros',
        );
      }
      return Object.freeze({
        method: 'web',
        did,
        hostname: 'localhost',
        port,
        isLocalhost: true,
        authority: `localhost:${port}`,
      });
    }
    if (/%3[aA]/.test(id)) {
      throw new InvalidDidError(did, 'method-syntax', 'a did:web port is only allowed for localhost');
    }
    throw new InvalidDidError(did, 'method-syntax', 'a did:web host cannot contain %-escapes');
  }
  if (id === 'localhost') {
    return Object.freeze({ method: 'web', did, hostname: id, port: undefined, isLocalhost: true, authority: id });
  }
  if (!isValidHandle(id)) {
    throw new InvalidDidError(did, 'method-syntax', 'the did:web host is not a valid hostname');
  }
  if (normalizeHandle(id) !== id) {
    throw new InvalidDidError(did, 'method-syntax', 'the did:web host must be lowercase (DIDs are case-sensitive)');
  }
  return Object.freeze({ method: 'web', did, hostname: id, port: undefined, isLocalhost: false, authority: id });
}

/** Options for the resolution-time DID checks. */
export interface DidResolutionOptions {
  /**
   * Allow `did:web` hosts under `.test`. Default `false`: the spec reserves
   * `.test` for testing and development, to fail in real-world environments.
   */
  allowTestTlds?: boolean;
  /**
   * Allow `did:web:localhost` and `did:web:localhost%3A<port>`. Default
   * `false`: the spec allows localhost only in testing and development.
   */
  allowLocalhost?: boolean;
}

const DID_RESOLUTION_SPEC: OptionSpec = {
  allowTestTlds: { kind: 'boolean', default: false },
  allowLocalhost: { kind: 'boolean', default: false },
};

/** {@link DidResolutionOptions} with every default filled in. */
export interface ResolvedDidResolutionOptions {
  readonly allowTestTlds: boolean;
  readonly allowLocalhost: boolean;
}

const DEFAULT_DID_RESOLUTION: ResolvedDidResolutionOptions = Object.freeze({
  allowTestTlds: false,
  allowLocalhost: false,
});

/**
 * Validate `options` and fill in defaults.
 *
 * @internal shared with `at-identifier.ts`; not part of the package API.
 * @throws InvalidOptionsError naming the bad option
 */
export function resolveDidResolutionOptions(options: DidResolutionOptions | undefined): ResolvedDidResolutionOptions {
  if (options === undefined) return DEFAULT_DID_RESOLUTION;
  return resolveOptions<ResolvedDidResolutionOptions>(DID_RESOLUTION_SPEC, options, 'didResolution');
}

/**
 * Validate `input` as a DID that may be resolved and say how: a `did:plc`
 * in its strict form, or a `did:web` that passes {@link parseDidWeb} whose
 * host is not under a reserved TLD (the same list as handles), not under
 * `.test` unless `allowTestTlds`, and not `localhost` unless
 * `allowLocalhost`.
 *
 * @throws InvalidDidError with reason `syntax`, `method-syntax`,
 *   `reserved-tld`, `test-tld` or `localhost`
 * @throws UnsupportedDidMethodError for a valid DID of another method
 * @throws InvalidOptionsError for bad `options`
 */
export function ensureResolvableDid(input: unknown, options?: DidResolutionOptions): ResolvableDid {
  return resolvableDid(input, resolveDidResolutionOptions(options));
}

/**
 * {@link ensureResolvableDid} with options already resolved, for callers
 * that check on every call (the resolvers).
 *
 * @internal not part of the package API.
 */
export function resolvableDid(input: unknown, resolution: ResolvedDidResolutionOptions): ResolvableDid {
  ensureValidDid(input);
  const method = getDidMethod(input);
  if (!Object.hasOwn(METHOD_RULES, method)) throw new UnsupportedDidMethodError(input, method, SUPPORTED_DID_METHODS);
  return METHOD_RULES[method as ResolvableDid['method']](input, resolution);
}

/**
 * The resolution rule of each DID method atproto resolves, keyed by method
 * name: it checks the method-specific identifier and says how to reach the
 * document. Adding a DID method is a row here (with its `…DidInfo`) plus a
 * row in `src/resolve/did-methods.ts`, whose type requires one row per key.
 */
const METHOD_RULES: {
  readonly [M in ResolvableDid['method']]: (did: string, options: ResolvedDidResolutionOptions) => Extract<ResolvableDid, { method: M }>;
} = {
  plc(did) {
    if (!isPlcDid(did)) {
      throw new InvalidDidError(did, 'method-syntax', 'a did:plc identifier is 24 characters of base32 (a-z, 2-7)');
    }
    return Object.freeze({ method: 'plc', did });
  },
  web(did, { allowTestTlds, allowLocalhost }) {
    const web = parseDidWeb(did);
    if (web.isLocalhost) {
      if (!allowLocalhost) {
        throw new InvalidDidError(did, 'localhost', 'did:web:localhost is refused unless allowLocalhost is set');
      }
      return web;
    }
    const restriction = tldRestriction(web.hostname, allowTestTlds);
    if (restriction === 'reserved-tld') {
      throw new InvalidDidError(did, 'reserved-tld', 'the did:web host is under a reserved top-level domain');
    }
    if (restriction === 'test-tld') {
      throw new InvalidDidError(did, 'test-tld', '.test did:web hosts are refused unless allowTestTlds is set');
    }
    return web;
  },
};

/** The DID methods atproto resolves (the keys of the method rules). */
export const SUPPORTED_DID_METHODS: readonly ResolvableDid['method'][] = Object.freeze(
  Object.keys(METHOD_RULES) as ResolvableDid['method'][],
);

/**
 * Whether {@link ensureResolvableDid} would accept `input`. Never throws for
 * any `input`; throws `InvalidOptionsError` only for bad `options`.
 */
export function isResolvableDid(input: unknown, options?: DidResolutionOptions): input is string {
  if (!isValidDid(input)) return false;
  try {
    ensureResolvableDid(input, options);
    return true;
  } catch (err) {
    if (err instanceof InvalidDidError || err instanceof UnsupportedDidMethodError) return false;
    throw err;
  }
}
