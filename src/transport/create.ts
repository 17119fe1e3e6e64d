import { InvalidOptionsError } from '../errors.js';
import { CurlTransport } from './curl.js';
import { TransportUnavailableError } from './errors.js';
import { loadNativeAddon } from './native-addon.js';
import type { TransportOptions } from './options.js';
import type { Transport, TransportKind } from './types.js';
import { UndiciTransport } from './undici.js';

/** The environment variable that forces a transport: `curl` or `undici`. */
export const TRANSPORT_ENV = 'ATRESOLVE_TRANSPORT';

/** Set to `0` to silence the fallback warning (`FALLBACK_WARNING_CODE`). */
export const FALLBACK_WARNING_ENV = 'ATRESOLVE_FALLBACK_WARNING';

/**
 * The `code` of the process warning `createTransport()` emits, once per
 * process (or worker), when it falls back to undici without being asked to.
 * `node --disable-warning=ATRESOLVE_NATIVE_UNAVAILABLE` also silences it.
 */
export const FALLBACK_WARNING_CODE = 'ATRESOLVE_NATIVE_UNAVAILABLE';

/** Which transport `createTransport()` picks on this machine, and why. */
export interface TransportInfo {
  /** The transport `createTransport()` creates. */
  kind: TransportKind;
  /** One sentence saying why, e.g. `native addon loaded from …` or `native addon unavailable: …`. */
  reason: string;
  /** Whether the native libcurl addon loads here and its libcurl is new enough. */
  nativeAvailable: boolean;
  /** Why the native addon does not load, when it does not. */
  nativeReason: string | undefined;
  /** The loaded addon's file, when it loads. */
  nativePath: string | undefined;
  /** The libcurl version the addon runs on, when it loads (also when that version is too old). */
  curlVersion: string | undefined;
  /** The TLS library libcurl runs on, e.g. `OpenSSL/3.0.15`, when the addon loads. */
  curlSslVersion: string | undefined;
  /** The kind forced by `ATRESOLVE_TRANSPORT`, if set. */
  forced: TransportKind | undefined;
}

/**
 * Say which transport `createTransport()` picks and why, without creating
 * one: the native libcurl transport when its addon loads, else the undici
 * fallback, unless `ATRESOLVE_TRANSPORT` forces one.
 *
 * @throws InvalidOptionsError when `ATRESOLVE_TRANSPORT` is neither `curl` nor `undici`
 */
export function transportInfo(): TransportInfo {
  const forced = forcedKind();
  const load = loadNativeAddon();
  const native = load.ok
    ? { nativeAvailable: true, nativeReason: undefined, nativePath: load.path, curlVersion: load.addon.curlVersion, curlSslVersion: load.addon.curlSslVersion }
    : { nativeAvailable: false, nativeReason: load.reason, nativePath: undefined, curlVersion: load.curlVersion, curlSslVersion: undefined };
  if (forced === 'undici') {
    return { kind: 'undici', reason: `${TRANSPORT_ENV}=undici`, forced, ...native };
  }
  if (load.ok) {
    const why = forced ? `${TRANSPORT_ENV}=curl` : `native addon loaded from ${load.path}`;
    return { kind: 'curl', reason: `${why} (libcurl ${load.addon.curlVersion})`, forced, ...native };
  }
  return { kind: forced ?? 'undici', reason: `native addon unavailable: ${load.reason}`, forced, ...native };
}

let fallbackWarned = false;

/**
 * Create the best transport for this machine (see `transportInfo()`).
 * The returned transport's `kind` says which it is.
 *
 * Falling back to undici is never silent: when the native addon does not
 * load and `ATRESOLVE_TRANSPORT` did not ask for undici, the first call in
 * a process (or worker) emits a process warning with the code
 * `ATRESOLVE_NATIVE_UNAVAILABLE` naming the reason. `ATRESOLVE_FALLBACK_WARNING=0`,
 * `ATRESOLVE_TRANSPORT=undici` or `node --disable-warning=ATRESOLVE_NATIVE_UNAVAILABLE`
 * silence it; `npx atresolve doctor` says the same in full.
 *
 * @throws TransportUnavailableError when `ATRESOLVE_TRANSPORT=curl` and the addon does not load
 * @throws InvalidOptionsError for bad options or a bad `ATRESOLVE_TRANSPORT`
 */
export function createTransport(options: TransportOptions = {}): Transport {
  const info = transportInfo();
  if (info.kind === 'curl') {
    if (!info.nativeAvailable) {
      throw new TransportUnavailableError(`${TRANSPORT_ENV}=curl, but the native engine is unavailable: ${info.nativeReason}`);
    }
    return new CurlTransport(options);
  }
  const transport = new UndiciTransport(options);
  if (!info.forced && !fallbackWarned && process.env[FALLBACK_WARNING_ENV] !== '0') {
    fallbackWarned = true;
    process.emitWarning(`atresolve is using its undici fallback transport: ${info.nativeReason}`, {
      code: FALLBACK_WARNING_CODE,
      detail:
        'The native libcurl transport needs glibc Linux (x64 or arm64) with libcurl4; `npx atresolve doctor` says what is missing. ' +
        `Set ${FALLBACK_WARNING_ENV}=0 or ${TRANSPORT_ENV}=undici to silence this warning.`,
    });
  }
  return transport;
}

function forcedKind(): TransportKind | undefined {
  const value = process.env[TRANSPORT_ENV];
  if (value === undefined || value === '') return undefined;
  if (value === 'curl' || value === 'undici') return value;
  throw new InvalidOptionsError(TRANSPORT_ENV, `must be 'curl' or 'undici', got '${value.slice(0, 40)}'`);
}
