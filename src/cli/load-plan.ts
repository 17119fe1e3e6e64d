import { HANDLE_DOMAIN, IdentityScheme } from '../world/identities.js';

/**
 * What the soak asks for, request by request: which kind of resolution and
 * which identity. Deterministic (no randomness): kinds are interleaved by a
 * smooth weighted round-robin over the mix, and each kind walks its
 * identities with a large stride coprime to their count, so consecutive
 * did:web and handle requests go to far-apart hosts and every host is
 * visited once before any repeats, like a relay's stream of mostly new
 * hosts.
 */

/** The kinds of resolution a soak mixes. */
export const LOAD_KINDS = ['plc', 'web', 'handle'] as const;

/** One kind of resolution, relay-style:
 * - `plc`: the atproto data of a did:plc (one request to the PLC directory, a keep-alive host);
 * - `web`: the atproto data of a did:web on its own `h<i>.web.test` host (a new TLS connection);
 * - `handle`: a handle resolved to a verified identity (DNS TXT, then the DID's document; HTTPS
 *   well-known only when DNS has no answer or per the handle strategy). */
export type LoadKind = (typeof LOAD_KINDS)[number];

/** Relative weights of the kinds, e.g. `{ plc: 50, web: 40, handle: 10 }`. */
export type LoadMix = Record<LoadKind, number>;

/** The share of did:web identities the soak asks the world for (percent). */
export const SOAK_WEB_PERCENT = 50;

/** One planned request. */
export interface PlannedRequest {
  kind: LoadKind;
  /** A DID for `plc`/`web`, a handle for `handle`. */
  target: string;
}

/**
 * The request plan over a world of `identities` identities of which
 * `webPercent` percent are did:web. Precomputes the DIDs once (a few MB for
 * 20,000 identities) so the measured loop does no hashing.
 */
export class LoadPlan {
  readonly #cycle: LoadKind[];
  readonly #targets: Record<LoadKind, string[]>;
  readonly #strides: Record<LoadKind, number>;
  readonly #next: Record<LoadKind, number> = { plc: 0, web: 0, handle: 0 };
  #position = 0;

  constructor(mix: LoadMix, world: { identities: number; webPercent: number }) {
    const scheme = new IdentityScheme({ identities: world.identities, webPercent: world.webPercent, keyPoolSize: 1 });
    const plc: string[] = [];
    const web: string[] = [];
    const handle: string[] = [];
    for (let i = 0; i < scheme.count; i++) {
      (scheme.methodOf(i) === 'web' ? web : plc).push(scheme.didOf(i));
      handle.push(`u${i}.${HANDLE_DOMAIN}`);
    }
    this.#targets = { plc, web, handle };
    for (const kind of LOAD_KINDS) {
      if (mix[kind] > 0 && this.#targets[kind].length === 0) {
        throw new RangeError(`the mix asks for ${kind} resolutions but the world has no ${kind} identities`);
      }
    }
    this.#strides = { plc: strideFor(plc.length), web: strideFor(web.length), handle: strideFor(handle.length) };
    this.#cycle = smoothRoundRobin(mix);
  }

  /** Distinct targets per kind. */
  get counts(): Record<LoadKind, number> {
    return { plc: this.#targets.plc.length, web: this.#targets.web.length, handle: this.#targets.handle.length };
  }

  /** The next request of the plan. */
  next(): PlannedRequest {
    const kind = this.#cycle[this.#position]!;
    this.#position = (this.#position + 1) % this.#cycle.length;
    const targets = this.#targets[kind];
    const n = this.#next[kind]++;
    return { kind, target: targets[(n * this.#strides[kind]) % targets.length]! };
  }
}

/**
 * The kinds in the order of a smooth weighted round-robin (as nginx's
 * upstream balancer): over one cycle of `Σ weights` steps each kind appears
 * `weight` times, spread out rather than in runs.
 */
export function smoothRoundRobin(mix: LoadMix): LoadKind[] {
  const total = LOAD_KINDS.reduce((sum, k) => sum + mix[k], 0);
  const current: LoadMix = { plc: 0, web: 0, handle: 0 };
  const cycle: LoadKind[] = [];
  for (let step = 0; step < total; step++) {
    let best: LoadKind | undefined;
    for (const kind of LOAD_KINDS) {
      current[kind] += mix[kind];
      if (mix[kind] > 0 && (best === undefined || current[kind] > current[best])) best = kind;
    }
    current[best!] -= total;
    cycle.push(best!);
  }
  return cycle;
}

/** A stride near 0.618 × `count` that is coprime to `count`, so `n × stride mod count` visits every index. */
export function strideFor(count: number): number {
  if (count <= 2) return 1;
  let stride = Math.max(1, Math.floor(count * 0.6180339887));
  while (gcd(stride, count) !== 1) stride += 1;
  return stride;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
