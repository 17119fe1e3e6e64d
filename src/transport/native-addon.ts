import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressClass } from './address.js';
import type { PoolStats } from './base.js';

/**
 * The native addon (`binding.gyp` target `atresolve`: `native/src/engine.c`
 * + `native/src/binding.c`) and its loader. `CurlTransport` is the only
 * user of the addon's functions; other code only asks `loadNativeAddon()`
 * whether the native engine is available (and why not).
 */

/** An opaque native engine handle (an N-API external). */
export interface NativeHandle {
  readonly __atresolveNativeHandle: never;
}

/** Engine-wide settings passed to `create()`. */
export interface NativeEngineOptions {
  maxConnections: number;
  maxIdleConnections: number;
  idleTimeoutMs: number;
  maxConnectionLifetimeMs: number;
  dnsCacheTtlMs: number;
  allowHttp: boolean;
  allowPrivateNetwork: boolean;
  /** PEM certificates trusted besides the system roots (the `caFile` option's contents). */
  caPem: string | undefined;
}

/** The engine's error names (`engine_error_name()` in `engine.c`). */
export type NativeErrorName =
  | 'OK'
  | 'DNS'
  | 'CONNECT'
  | 'CONNECT_TIMEOUT'
  | 'TIMEOUT'
  | 'TLS'
  | 'FORBIDDEN_ADDRESS'
  | 'BODY_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'NETWORK'
  | 'PROTOCOL'
  | 'ABORTED'
  | 'DESTROYED'
  | 'CLOSED'
  | 'INVALID_URL'
  | 'INVALID_REQUEST'
  | 'INTERNAL';

/** The SSRF classifier's class names (`engine_address_class_name()`). */
export type NativeAddressClass = AddressClass;

/**
 * The per-request numbers, written into the `params` Float64Array given to
 * `create()` before each `request()`, at the indices of the addon's
 * `requestLayout` (the one table is in `binding.c`; names checked at load).
 */
export const REQUEST_PARAMS = [
  'id',
  'method',
  'timeoutMs',
  'connectTimeoutMs',
  'maxResponseBytes',
  'maxHeaderBytes',
  'forbidReuse',
] as const;
export type RequestParam = (typeof REQUEST_PARAMS)[number];

/**
 * The numbers of one completion, in the `results` Float64Array given to
 * `create()`, at the indices of the addon's `completionLayout`, valid
 * during the `onComplete` call that follows them.
 */
export const COMPLETION_FIELDS = [
  'id',
  'kind',
  'error',
  'status',
  'curlCode',
  'connectUs',
  'tlsUs',
  'firstByteUs',
  'totalUs',
  'reused',
  'addressClass',
] as const;
export type CompletionField = (typeof COMPLETION_FIELDS)[number];

/**
 * Called on the JS thread for each completion, after its numbers were
 * written into `results`: `headers` (raw `name: value\r\n` lines) and
 * `body` for a transfer that succeeded, `message` for a failure, `address`
 * for a refused address; `undefined` otherwise. Must not throw.
 */
export type NativeCompletionCallback = (
  headers: string | undefined,
  body: Buffer | undefined,
  message: string | undefined,
  address: string | undefined,
) => void;

/** Engine counters, read under the engine's mutex. */
export interface NativeStats extends Omit<PoolStats, 'dnsCacheEntries' | 'tlsSessionCacheEntries'> {
  /** Generations alive (1 when no clear/reset is draining). */
  generations: number;
  /** Idle easy handles kept for reuse. */
  pooledHandles: number;
  /** 1 while the engine's worker thread exists, 0 while it is parked (or closed). */
  workerRunning: number;
  /** Times the worker parked after `idleTimeoutMs` with nothing in flight. */
  parks: number;
  /** Requests and operations not yet delivered to JavaScript. */
  outstanding: number;
}

/** Errors `request()` and the operations can return synchronously. */
export type NativeSubmitError = 'CLOSED' | 'INVALID_REQUEST' | 'INTERNAL';

/** The functions exported by `native/src/binding.c`. */
export interface NativeAddon {
  /** libcurl's version, e.g. `7.88.1`. */
  readonly curlVersion: string;
  /** The TLS library libcurl runs on, e.g. `OpenSSL/3.0.15`. */
  readonly curlSslVersion: string;
  /** The oldest libcurl the engine supports, e.g. `7.74.0`. */
  readonly curlMinimumVersion: string;
  /** Whether `curlVersion` is at least `curlMinimumVersion`; `create()` fails otherwise. */
  readonly curlSupported: boolean;
  /** Where each request parameter goes in `params`, by name. */
  readonly requestLayout: Readonly<Record<RequestParam, number>>;
  /** Where each completion field is in `results`, by name. */
  readonly completionLayout: Readonly<Record<CompletionField, number>>;
  /** Error names by the number in the `error` completion field. */
  readonly errorNames: readonly NativeErrorName[];
  /** Address class names by the number in the `addressClass` completion field. */
  readonly addressClassNames: readonly NativeAddressClass[];
  /**
   * Create an engine (its worker thread starts with the first request).
   * `params` and `results` are Float64Arrays of `requestLayout`'s and
   * `completionLayout`'s sizes, kept for the engine's life.
   */
  create(
    options: NativeEngineOptions,
    onComplete: NativeCompletionCallback,
    params: Float64Array,
    results: Float64Array,
  ): NativeHandle;
  /**
   * Queue one request whose numbers were just written into `params`.
   * `headers`: `Name: value` entries each ending in `\0`, or `null`;
   * `connectTo`: `::ip:port` or `null`; `addresses`: the URL host's IP
   * literals, each ending in `\0`, in the order to try (libcurl then
   * resolves nothing), or `null`. Returns `INVALID_REQUEST` for a header
   * entry with CR or LF or an address that is not an IP literal.
   */
  request(
    handle: NativeHandle,
    url: string,
    headers: string | null,
    body: Buffer | null,
    connectTo: string | null,
    addresses: string | null,
  ): NativeSubmitError | undefined;
  abort(handle: NativeHandle, id: number): undefined;
  clear(handle: NativeHandle, id: number): NativeSubmitError | undefined;
  reset(handle: NativeHandle, id: number): NativeSubmitError | undefined;
  close(handle: NativeHandle, id: number): NativeSubmitError | undefined;
  destroy(handle: NativeHandle, id: number): NativeSubmitError | undefined;
  stats(handle: NativeHandle): NativeStats;
  /** The SSRF class of an IP literal (no brackets), or `null` when it is not one. */
  classifyAddress(ip: string): NativeAddressClass | null;
  /**
   * The engine's content decoder on its own (`engine_decoder_*`): `body`
   * fed in `chunkSize` pieces under `Content-Encoding: contentEncoding`
   * (latin1, `null` for no header), decoded bytes capped at `cap`. For the
   * test holding it to `BodyDecoder`.
   */
  decodeBody(contentEncoding: string | null, body: Buffer, chunkSize: number, cap: number): NativeDecodeResult;
  /**
   * Whether SEC1 `bytes` are a point on curve 0 (secp256k1) or 1 (P-256)
   * (`curve_point.c`, GMP's arithmetic). Throws when
   * {@link isPointOnCurveAvailable} is false.
   */
  isPointOnCurve(curve: 0 | 1, bytes: Uint8Array): boolean;
  /** Whether `isPointOnCurve` works here: `libgmp.so.10` could be opened. */
  readonly isPointOnCurveAvailable: boolean;
}

/** What `decodeBody()` returns; `body` only when `outcome` is `OK`. */
export interface NativeDecodeResult {
  outcome: 'OK' | 'BODY_TOO_LARGE' | 'BAD_ENCODING' | 'NOMEM';
  body: Buffer | null;
  /** Why decoding failed, for `BAD_ENCODING`. */
  message: string;
}

/**
 * The outcome of loading the addon: the addon and the file it came from, or
 * why it is unavailable (with the libcurl version when the addon loaded but
 * its libcurl is older than the engine supports).
 */
export type NativeAddonLoad =
  | { ok: true; addon: NativeAddon; path: string }
  | { ok: false; reason: string; curlVersion?: string };

const require = createRequire(import.meta.url);
/** The package root: two levels above this file, in `src/transport/` and in `dist/transport/` alike. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let memo: NativeAddonLoad | undefined;

/**
 * Load the native addon once per process (the result, success or failure,
 * is memoized) with `node-gyp-build`: `build/Release` first, then
 * `prebuilds/<platform>-<arch>/` (only the prebuild when `PREBUILDS_ONLY=1`).
 * The directory searched is the package root, or `ATRESOLVE_NATIVE_DIR`
 * when set. Never throws: on failure `reason` says why in words, e.g.
 * `no prebuild for linux-arm64-musl in /app/prebuilds/`, the dynamic
 * loader's `libcurl.so.4: cannot open shared object file`, or
 * `libcurl 7.68.0 is older than 7.74.0, the oldest the native engine
 * supports`.
 */
export function loadNativeAddon(): NativeAddonLoad {
  memo ??= load();
  return memo;
}

function load(): NativeAddonLoad {
  const dir = process.env['ATRESOLVE_NATIVE_DIR'] || packageRoot;
  let path: string;
  try {
    const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
    path = nodeGypBuild.path(dir);
  } catch (error) {
    return { ok: false, reason: describeMissing(dir, error) };
  }
  let addon: NativeAddon;
  try {
    addon = dlopenIsolated(path);
  } catch (error) {
    return { ok: false, reason: `cannot load ${path}: ${firstLine(error)}` };
  }
  const missing = ['create', 'request', 'abort', 'clear', 'reset', 'close', 'destroy', 'stats', 'classifyAddress', 'decodeBody', 'isPointOnCurve']
    .filter((name) => typeof (addon as unknown as Record<string, unknown>)[name] !== 'function');
  if (missing.length > 0) {
    return { ok: false, reason: `${path} is not the atresolve addon (missing ${missing.join(', ')})` };
  }
  const layoutMismatch = mismatchedLayout(addon);
  if (layoutMismatch !== undefined) {
    return { ok: false, reason: `${path} does not match this version of atresolve (${layoutMismatch})` };
  }
  if (!addon.curlSupported) {
    return {
      ok: false,
      reason: `libcurl ${addon.curlVersion} is older than ${addon.curlMinimumVersion}, the oldest the native engine supports`,
      curlVersion: addon.curlVersion,
    };
  }
  return { ok: true, addon, path };
}

/** What differs between the addon's request/completion layouts and the names this code writes and reads, if anything. */
function mismatchedLayout(addon: NativeAddon): string | undefined {
  const check = (what: string, layout: unknown, names: readonly string[]): string | undefined => {
    if (typeof layout !== 'object' || layout === null) return `no ${what}`;
    const have = Object.keys(layout).sort().join(',');
    const want = [...names].sort().join(',');
    return have === want ? undefined : `${what} has ${have}, expected ${want}`;
  };
  return (
    check('requestLayout', addon.requestLayout, REQUEST_PARAMS) ??
    check('completionLayout', addon.completionLayout, COMPLETION_FIELDS) ??
    (Array.isArray(addon.errorNames) && Array.isArray(addon.addressClassNames) ? undefined : 'no errorNames or addressClassNames')
  );
}

/**
 * Load the addon with `RTLD_DEEPBIND`, so the addon and the libraries it
 * brings in (libcurl, and libcurl's OpenSSL) resolve symbols among
 * themselves before the process's global ones. Without it, libcurl's
 * OpenSSL calls bind to the OpenSSL that the `node` binary exports: the
 * same ABI when libcurl was built against OpenSSL 3, but a libcurl built
 * against OpenSSL 1.1 (Debian 11's 7.74) then mixes the two libraries and
 * crashes in its first handshake. With it, libcurl always runs on the
 * OpenSSL it was built for, separate from Node's.
 */
function dlopenIsolated(path: string): NativeAddon {
  const flags = constants.dlopen;
  const module = { exports: {} as unknown };
  const deepBind = flags.RTLD_DEEPBIND ?? 0;
  process.dlopen(module, path, flags.RTLD_NOW | deepBind);
  return module.exports as NativeAddon;
}

function describeMissing(dir: string, error: unknown): string {
  const message = firstLine(error);
  if (!message.startsWith('No native build was found')) return `cannot find the native addon in ${dir}: ${message}`;
  const libc = process.env['LIBC'] ?? (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  const tuple = `${process.platform}-${process.arch}-${libc}`;
  const where = join(dir, 'prebuilds') + '/';
  const built = process.env['PREBUILDS_ONLY'] ? ' (PREBUILDS_ONLY is set, build/ was not tried)' : ' and no build/Release';
  return `no prebuild for ${tuple} (node-abi ${process.versions.modules}, napi) in ${where}${built}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.trim() ?? text;
}
