import { CounterSet, type WorldCounters } from './counters.js';
import { DnsServer } from './dns-server.js';
import { DocumentStore } from './documents.js';
import { WorldView, worldEndpoints } from './endpoints.js';
import { WorldClosedError } from './errors.js';
import { FaultPlan, resolveFaults, type FaultSettings } from './faults.js';
import { HttpsHosts } from './https-hosts.js';
import { HANDLE_DOMAIN, IdentityScheme, PLC_HOST, WEB_DOMAIN } from './identities.js';
import { resolveWorldOptions, type ResolvedWorldOptions, type WorldOptions } from './options.js';
import { createTestCa, type TestCa } from './test-ca.js';

/**
 * Start the local world in this process: a fresh test CA, one HTTPS server
 * on 127.0.0.1 playing `plc.test`, `h<i>.web.test` and `u<i>.handle.test`,
 * and one DNS server on loopback UDP. Start-up does no per-identity work
 * unless `precompute` asks for it.
 *
 * @throws InvalidOptionsError for bad options (before anything starts)
 * @throws Error when the `openssl` CLI fails or a port cannot be bound
 */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const resolved = resolveWorldOptions(options);
  const ca = await createTestCa({ commonName: 'atresolve local world CA' });
  let https: HttpsHosts | undefined;
  let dns: DnsServer | undefined;
  try {
    const leaf = await ca.issue({ dnsNames: [PLC_HOST, `*.${WEB_DOMAIN}`, `*.${HANDLE_DOMAIN}`] });
    const scheme = new IdentityScheme(resolved);
    const parts: WorldParts = {
      ca,
      scheme,
      documents: new DocumentStore(scheme, resolved.documentCacheEntries),
      plan: new FaultPlan(resolved.seed, resolved.faults),
      counters: new CounterSet(),
    };
    if (resolved.precompute) parts.documents.precompute();
    https = await HttpsHosts.start({
      ...parts,
      keyPem: leaf.keyPem,
      certPem: leaf.certPem,
      keepAliveTimeoutMs: resolved.keepAliveTimeoutMs,
      maxConnections: resolved.maxConnections,
    });
    dns = await DnsServer.start(parts);
    return new World(resolved, { ...parts, https, dns });
  } catch (error) {
    await Promise.all([https?.close(), dns?.close()]);
    await ca.dispose();
    throw error;
  }
}

interface WorldParts {
  ca: TestCa;
  scheme: IdentityScheme;
  documents: DocumentStore;
  plan: FaultPlan;
  counters: CounterSet;
}

/**
 * A running local world (see `startWorld()`). Its identity helpers and
 * endpoints come from `WorldView`; this class adds run-time control.
 */
export class World extends WorldView {
  readonly #parts: WorldParts & { https: HttpsHosts; dns: DnsServer };
  #closing: Promise<void> | undefined;
  #final: WorldCounters | undefined;

  /** @internal use `startWorld()` */
  constructor(options: ResolvedWorldOptions, parts: WorldParts & { https: HttpsHosts; dns: DnsServer }) {
    super(worldEndpoints(parts.https.port, parts.dns.port, parts.ca), options, parts.scheme);
    this.#parts = parts;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Replace the fault settings as a whole (`setFaults({})` turns every fault
   * off). The seeded streams continue; `resetCounters()` restarts them.
   * @throws InvalidOptionsError for bad settings (the old ones stay)
   * @throws WorldClosedError after `close()`
   */
  setFaults(faults: FaultSettings): void {
    this.#checkOpen('setFaults');
    this.#parts.plan.set(resolveFaults(faults));
  }

  /** The fault settings in force, defaults filled in. */
  faults(): FaultSettings {
    return structuredClone(this.#parts.plan.faults.settings);
  }

  /** A snapshot of the counters; after `close()`, the final one. */
  counters(): WorldCounters {
    if (this.#final !== undefined) return this.#final;
    const { counters, https, documents, scheme } = this.#parts;
    return counters.snapshot({ openConnections: https.openConnections, documents: documents.cached, keys: scheme.keys.derived });
  }

  /**
   * Zero the counters and restart the seeded fault streams, so what follows
   * is reproducible whatever traffic came before.
   * @throws WorldClosedError after `close()`
   */
  resetCounters(): void {
    this.#checkOpen('resetCounters');
    this.#parts.counters.reset();
    this.#parts.plan.restart();
  }

  /**
   * Close both servers (destroying open connections, held and delayed
   * requests), drop the memo and remove the CA directory. Idempotent; every
   * call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { https, dns, ca, documents } = this.#parts;
      try {
        await Promise.all([https.close(), dns.close()]);
      } finally {
        this.#final = this.counters();
        documents.clear();
        await ca.dispose();
      }
    })();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(method: string): void {
    if (this.#closing !== undefined) throw new WorldClosedError(`world.${method}() called after close()`);
  }
}
