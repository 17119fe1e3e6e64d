import { DAY_MS, MAX_COUNT, resolveOptions, type OptionSpec } from '../util/options.js';
import { resolveFaults, type FaultSettings, type ResolvedFaults } from './faults.js';

/**
 * Options of the local world (`startWorld()`, `startWorldProcess()`). The
 * zero value is a small world for tests; the soak passes `identities: 20000`.
 */
export interface WorldOptions {
  /**
   * Number of identities, `0 … identities-1`. Default `1000`: enough distinct
   * names for any test; the soak sets 20,000 or more. Nothing is generated
   * per identity at start-up, so large values cost nothing until requested.
   */
  identities?: number;
  /**
   * Percent of identities that are did:web: identity `i` is did:web when
   * `i % 100 < webPercent`. Default `20`: most real identities are did:plc,
   * but a fifth keeps thousands of distinct did:web hosts in a soak.
   */
  webPercent?: number;
  /**
   * Distinct secp256k1 signing keys; identity `i` uses key `i % keyPoolSize`.
   * Default `256`: deriving one key costs ~0.35 ms, so 256 keys cost ~90 ms
   * in total (spread over the first requests) while still giving neighbouring
   * identities different keys. Set it to `identities` for all-unique keys.
   */
  keyPoolSize?: number;
  /**
   * Serialized DID documents kept in a bounded LRU. Default `32768`: holds
   * the whole 20,000-identity soak set (~0.6 KB each, ≤ ~20 MB), so every
   * document is built once. `0` builds each document per request.
   */
  documentCacheEntries?: number;
  /**
   * Build every identity's signing key and serialized DID document at
   * start, before the world reports ready, so the first requests cost what
   * later ones do. Default `false`: a test's world starts in milliseconds.
   * The soak sets it: for 20,000 identities it takes ~0.25 s and ~12 MB,
   * work that would otherwise land on the world in the first seconds of the
   * load (all 256 keys within the first few hundred requests). Only as many
   * documents as `documentCacheEntries` holds are built.
   */
  precompute?: boolean;
  /**
   * Idle keep-alive connections are closed by the server after this long.
   * Default `5000` (5 s): Node's own default, a common real-server value that
   * clients must cope with (their idle timeout is usually longer).
   */
  keepAliveTimeoutMs?: number;
  /**
   * Open HTTPS connections the server accepts; more are dropped. Default
   * `4096`: 16× a transport's default 256-connection pool, yet bounded in
   * file descriptors and TLS memory (~100 MB at worst).
   */
  maxConnections?: number;
  /**
   * Seed of the fault streams. Default `1`: runs are reproducible unless a
   * caller asks for another seed.
   */
  seed?: number;
  /** Faults injected from the start (see `FaultSettings`). Default none. */
  faults?: FaultSettings;
}

/** `WorldOptions` with every default filled in and faults validated. */
export interface ResolvedWorldOptions {
  identities: number;
  webPercent: number;
  keyPoolSize: number;
  documentCacheEntries: number;
  precompute: boolean;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  seed: number;
  faults: ResolvedFaults;
}

/** The table behind `resolveWorldOptions()`; `startWorldProcess()` extends it. */
export const WORLD_OPTION_SPEC: OptionSpec = {
  // The did:plc identifier carries the index in 32 bits; MAX_COUNT keeps it exact.
  identities: { kind: 'integer', default: 1_000, min: 1, max: MAX_COUNT },
  webPercent: { kind: 'integer', default: 20, min: 0, max: 100 },
  keyPoolSize: { kind: 'integer', default: 256, min: 1, max: MAX_COUNT },
  documentCacheEntries: { kind: 'integer', default: 32_768, min: 0, max: 10_000_000 },
  precompute: { kind: 'boolean', default: false },
  keepAliveTimeoutMs: { kind: 'integer', default: 5_000, min: 1, max: DAY_MS },
  maxConnections: { kind: 'integer', default: 4_096, min: 1, max: 1_000_000 },
  seed: { kind: 'integer', default: 1, min: 0, max: MAX_COUNT },
  faults: { kind: 'opaque' },
};

/**
 * Validate world options and fill in defaults.
 * @param prefix option name used in error messages
 * @throws InvalidOptionsError naming the offending option
 */
export function resolveWorldOptions(input: unknown, prefix = 'world'): ResolvedWorldOptions {
  const resolved = resolveOptions<Omit<ResolvedWorldOptions, 'faults'> & { faults: unknown }>(
    WORLD_OPTION_SPEC,
    input,
    prefix,
  );
  return { ...resolved, faults: resolveFaults(resolved.faults, `${prefix}.faults`) };
}
