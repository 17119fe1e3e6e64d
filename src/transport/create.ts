import { InvalidOptionsError } from '../errors.js';
import { CurlTransport } from './curl.js';
import { TransportUnavailableError } from './errors.js';
import { loadNativeAddon } from './native-addon.js';
import type { TransportOptions } from './options.js';
import type { Transport, TransportKind } from './types.js';
import { UndiciTransport } from './undici.js';

/** The environment variable that forces a transport: `curl` or `undici`. */
export const TRANSPORT_ENV = 'ATRESOLVE_TRANSPORT';

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
    ? { nativeAvailable: true, nativeReason: undefined, nativePath: load.path, curlVersion: load.addon.curlVersion }
    : { nativeAvailable: false, nativeReason: load.reason, nativePath: undefined, curlVersion: load.curlVersion };
  if (forced === 'undici') {
    return { kind: 'undici', reason: `${TRANSPORT_ENV}=undici`, forced, ...native };
  }
  if (load.ok) {
    const why = forced ? `${TRANSPORT_ENV}=curl` : `native addon loaded from ${load.path}`;
    return { kind: 'curl', reason: `${why} (libcurl ${load.addon.curlVersion})`, forced, ...native };
  }
  return { kind: forced ?? 'undici', reason: `native addon unavailable: ${load.reason}`, forced, ...native };
}

/**
 * Create the best transport for this machine (see `transportInfo()`).
 * The returned transport's `kind` says which it is.
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
  return new UndiciTransport(options);
}

function forcedKind(): TransportKind | undefined {
  const value = process.env[TRANSPORT_ENV];
  if (value === undefined || value === '') return undefined;
  if (value === 'curl' || value === 'undici') return value;
  throw new InvalidOptionsError(TRANSPORT_ENV, `must be 'curl' or 'undici', got '${value.slice(0, 40)}'`);
}
