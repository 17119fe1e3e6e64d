import { InvalidOptionsError } from '../errors.js';
import { resolveOptions, type OptionSpec } from '../util/options.js';

/**
 * The kinds of endpoint the world serves, each counted and faulted on its
 * own: `plc` (the PLC directory on `plc.test`), `web` (`/.well-known/did.json`
 * on `h<i>.web.test`), `handle` (`/.well-known/atproto-did` on
 * `u<i>.handle.test`) and `dns` (TXT `_atproto.u<i>.handle.test`).
 */
export const ENDPOINT_KINDS = ['plc', 'web', 'handle', 'dns'] as const;
/** One of `ENDPOINT_KINDS`. */
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/**
 * The faults the world can inject, in the order a draw walks them. A fault
 * replaces a request's successful answer:
 * - `notFound`: HTTPS 404 / DNS NXDOMAIN.
 * - `serverError`: HTTPS 500 / DNS SERVFAIL.
 * - `slow`: the correct answer after `slowMs`.
 * - `timeout`: no answer at all (HTTPS: the request is held open until the
 *   client gives up or the world closes; DNS: the query is dropped).
 * - `wrongId`: a document whose `id` (and key ids) name another identity's
 *   DID; for `handle` and `dns`, that other DID as the answer.
 * - `oversized`: HTTPS only; a valid document padded to more than
 *   `oversizeBytes`, with `Content-Length`.
 * - `oversizedChunked`: HTTPS only; the same, chunked, without `Content-Length`.
 * - `reset`: HTTPS only; headers with the full `Content-Length`, half the
 *   body, then the TCP connection is destroyed.
 */
export const FAULT_NAMES = [
  'notFound',
  'serverError',
  'slow',
  'timeout',
  'wrongId',
  'oversized',
  'oversizedChunked',
  'reset',
] as const;
/** One of `FAULT_NAMES`. */
export type FaultName = (typeof FAULT_NAMES)[number];

/** Faults that only exist over HTTPS; setting one under `dns` is an error, under `all` it skips `dns`. */
export const HTTPS_ONLY_FAULTS: ReadonlySet<FaultName> = new Set(['oversized', 'oversizedChunked', 'reset']);

/** Percent (0–100, fractions allowed) of eligible requests that get each fault. */
export type FaultMix = Partial<Record<FaultName, number>>;

/**
 * Which faults to inject, set at start (`WorldOptions.faults`) or at run time
 * (`setFaults()`, which replaces the previous settings as a whole). A
 * per-kind mix overrides `all` fault by fault; each kind's percentages must
 * add up to at most 100.
 *
 * Only requests that would succeed are eligible: a request for an unknown
 * DID, host or handle always gets its plain 404 / NXDOMAIN and draws nothing.
 */
export interface FaultSettings {
  /** Applied to every kind (HTTPS-only faults skip `dns`). Default none. */
  all?: FaultMix;
  /** PLC directory faults. Default none. */
  plc?: FaultMix;
  /** did:web `did.json` faults. Default none. */
  web?: FaultMix;
  /** HTTPS handle (`atproto-did`) faults. Default none. */
  handle?: FaultMix;
  /** DNS TXT faults. Default none. */
  dns?: FaultMix;
  /**
   * Delay of a `slow` answer. Default `1000` (1 s): far above a loopback
   * round trip, well under the transports' 10 s default timeout, so "slow"
   * and "timed out" stay different outcomes unless a test lowers its timeout.
   */
  slowMs?: number;
  /**
   * An oversized body is strictly larger than this many bytes. Default
   * `1048576` (1 MiB), the transports' default `maxResponseBytes`, so an
   * oversized answer is exactly what a default client must refuse.
   */
  oversizeBytes?: number;
}

/** `FaultSettings` validated, with the effective percentages per kind. */
export interface ResolvedFaults {
  /** The settings as given (validated copy), e.g. to send to a child process. */
  readonly settings: FaultSettings;
  /** Effective percent of each fault for each kind, `all` merged in. */
  readonly mix: Readonly<Record<EndpointKind, Readonly<Record<FaultName, number>>>>;
  readonly slowMs: number;
  readonly oversizeBytes: number;
}

const FAULT_SETTINGS_SPEC: OptionSpec = {
  all: { kind: 'opaque' },
  plc: { kind: 'opaque' },
  web: { kind: 'opaque' },
  handle: { kind: 'opaque' },
  dns: { kind: 'opaque' },
  slowMs: { kind: 'integer', default: 1_000, min: 0, max: 600_000 },
  oversizeBytes: { kind: 'integer', default: 1_048_576, min: 1, max: 64 * 1_048_576 },
};

type ResolvedSettings = Required<Pick<FaultSettings, 'slowMs' | 'oversizeBytes'>> &
  Record<'all' | EndpointKind, unknown>;

/**
 * Validate fault settings and compute each kind's effective mix.
 * @param prefix option name used in error messages
 * @throws InvalidOptionsError naming the offending field
 */
export function resolveFaults(input: unknown, prefix = 'faults'): ResolvedFaults {
  const resolved = resolveOptions<ResolvedSettings>(FAULT_SETTINGS_SPEC, input, prefix);
  const all = resolveMix(resolved.all, `${prefix}.all`, undefined);
  const settings: FaultSettings = { slowMs: resolved.slowMs, oversizeBytes: resolved.oversizeBytes };
  if (resolved.all !== undefined) settings.all = { ...all };
  const mix = {} as Record<EndpointKind, Record<FaultName, number>>;
  for (const kind of ENDPOINT_KINDS) {
    const own = resolveMix(resolved[kind], `${prefix}.${kind}`, kind);
    if (resolved[kind] !== undefined) settings[kind] = { ...own };
    const effective = {} as Record<FaultName, number>;
    let total = 0;
    for (const fault of FAULT_NAMES) {
      const inherited = kind === 'dns' && HTTPS_ONLY_FAULTS.has(fault) ? undefined : all[fault];
      const percent = own[fault] ?? inherited ?? 0;
      effective[fault] = percent;
      total += percent;
    }
    if (total > 100) {
      throw new InvalidOptionsError(`${prefix}.${kind}`, `fault percentages add up to ${total} (with ${prefix}.all), more than 100`);
    }
    mix[kind] = effective;
  }
  return { settings, mix, slowMs: resolved.slowMs, oversizeBytes: resolved.oversizeBytes };
}

function resolveMix(value: unknown, name: string, kind: EndpointKind | undefined): FaultMix {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(name, 'expected an object of fault percentages');
  }
  const out: FaultMix = {};
  for (const [fault, percent] of Object.entries(value)) {
    if (!(FAULT_NAMES as readonly string[]).includes(fault)) {
      throw new InvalidOptionsError(`${name}.${fault}`, `unknown fault; expected one of ${FAULT_NAMES.join(', ')}`);
    }
    if (kind === 'dns' && HTTPS_ONLY_FAULTS.has(fault as FaultName)) {
      throw new InvalidOptionsError(`${name}.${fault}`, 'this fault exists only over HTTPS');
    }
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new InvalidOptionsError(`${name}.${fault}`, `expected a percentage from 0 to 100, got ${String(percent)}`);
    }
    out[fault as FaultName] = percent;
  }
  return out;
}

/**
 * Decides, request by request, which fault (if any) to inject. Each kind has
 * its own seeded pseudo-random stream (mulberry32), and every eligible
 * request of a kind takes exactly one number from it, whatever the current
 * mix; so the n-th eligible request of a kind since start (or `restart()`)
 * gets the same fault in every run with the same seed and settings, no matter
 * how other kinds' traffic interleaves.
 */
export class FaultPlan {
  readonly #seed: number;
  readonly #state = new Uint32Array(ENDPOINT_KINDS.length);
  #faults: ResolvedFaults;

  /**
   * @param seed the world's seed
   * @param faults validated settings (see `resolveFaults`)
   */
  constructor(seed: number, faults: ResolvedFaults) {
    this.#seed = seed;
    this.#faults = faults;
    this.restart();
  }

  /** The settings in force. */
  get faults(): ResolvedFaults {
    return this.#faults;
  }

  /** Replace the settings; the streams continue where they were. */
  set(faults: ResolvedFaults): void {
    this.#faults = faults;
  }

  /** Restart every stream from the seed. */
  restart(): void {
    for (let k = 0; k < ENDPOINT_KINDS.length; k += 1) {
      this.#state[k] = Math.imul(this.#seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(k + 1, 0xc2b2ae35);
    }
  }

  /** Draw the fault for the next eligible request of `kind`, or `undefined` for none. */
  draw(kind: EndpointKind): FaultName | undefined {
    const roll = (this.#next(ENDPOINT_KINDS.indexOf(kind)) / 4_294_967_296) * 100;
    const mix = this.#faults.mix[kind];
    let cumulative = 0;
    for (const fault of FAULT_NAMES) {
      cumulative += mix[fault];
      if (roll < cumulative) return fault;
    }
    return undefined;
  }

  /** mulberry32: one 32-bit output, advancing stream `k`. */
  #next(k: number): number {
    const state = ((this.#state[k] as number) + 0x6d2b79f5) >>> 0;
    this.#state[k] = state;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
