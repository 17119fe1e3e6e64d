import { Resolver, type RecordWithTtl } from 'node:dns';
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { getDomain } from 'tldts';
import { AbortError } from '../errors.js';
import { dnsTrace, type DnsTraceEvent } from '../telemetry/trace.js';
import { DnsError, type DnsFailureReason } from '../transport/errors.js';
import { FailingDomains } from './failing-domains.js';
import { HostsFile } from './hosts-file.js';
import type { ResolvedDnsOptions } from './options.js';

/** Per-call options of `lookup()` and `resolveTxt()`. */
export interface DnsLookupOptions {
  /** Cancels the wait (the query itself runs to its end); rejects with `AbortError`. */
  signal?: AbortSignal;
  /**
   * Time this caller waits, in ms (its request's remaining time). Default,
   * and never more than, `timeoutMs × tries`.
   */
  timeoutMs?: number;
}

/** A point-in-time snapshot of a `DnsResolver`; counters are cumulative, gauges current. */
export interface DnsStats {
  /** `lookup()` and `resolveTxt()` calls. */
  lookups: number;
  /** Lookups answered from the cache (addresses, "no such name", or a remembered failure). */
  cacheHits: number;
  /** Lookups answered from the hosts file. */
  hostsHits: number;
  /** Lookups sent to the DNS servers (concurrent lookups of one name share one). */
  queries: number;
  /** Gauge: lookups the DNS servers have not finished, abandoned ones included. */
  inFlight: number;
  /** Gauge: of those, lookups nobody waits for any more (their callers' deadlines passed). */
  abandoned: number;
  /** Gauge: lookups waiting behind a failing domain's share. */
  waiting: number;
  /** Gauge: domains marked failing. */
  failingDomains: number;
  /** Gauge: host names in the cache. */
  cacheEntries: number;
  /** Failed lookups by `DnsError.reason`. */
  failuresByReason: Record<string, number>;
}

/**
 * Name resolution for both transports and for handle TXT lookups:
 * event-driven (c-ares through `node:dns`'s `Resolver`, on the JS thread's
 * event loop, no thread per lookup, nothing on libuv's thread pool),
 * bounded, and fair.
 *
 * - Every lookup ends within its caller's time (`timeoutMs`, at most
 *   `timeoutMs × tries` of the options) or when its signal aborts.
 *   c-ares cannot cancel one query, so an abandoned query runs on to its
 *   own end and still counts in `maxInFlight` until then.
 * - Concurrent lookups of one name share one query.
 * - At most `maxInFlight` lookups are at the DNS servers; beyond that a
 *   lookup fails at once (`OVERLOADED`) instead of waiting.
 * - A domain whose last lookup timed out or got SERVFAIL gets at most
 *   `maxInFlightPerFailingDomain` lookups at once; its other names wait
 *   behind them. Other domains never wait.
 * - Address answers are cached up to their TTL and `maxTtlMs`, NXDOMAIN /
 *   NODATA for `negativeTtlMs`, failures for `failureTtlMs`; at most
 *   `cacheEntries` names. `clear()` empties the cache.
 * - The hosts file answers first; without `nameservers` the system's
 *   servers are used, and the resolver is rebuilt when
 *   `/etc/resolv.conf` changes.
 *
 * Names are queried fully qualified (a trailing dot), so no search
 * domain is ever appended. Answers are not checked against the SSRF
 * rules here: the transport does that with every address.
 */
export class DnsResolver {
  readonly options: ResolvedDnsOptions;
  /** Longest any caller waits for one lookup: `timeoutMs × tries`. */
  readonly budgetMs: number;

  #resolver: Resolver;
  #resolvConf: { mtimeMs: number; checkedAt: number } | undefined;
  readonly #hosts: HostsFile | undefined;
  readonly #cache: LRUCache<string, CacheEntry>;
  /** Lookups callers can join, by key; a flight leaves when it settles. */
  readonly #flights = new Map<string, Flight<unknown>>();
  /** Lookups whose queries the DNS servers have not finished; a flight leaves when they have. */
  readonly #live = new Set<Flight<unknown>>();
  readonly #domains: FailingDomains;
  #closed = false;
  readonly #counters = { lookups: 0, cacheHits: 0, hostsHits: 0, queries: 0 };
  readonly #failuresByReason: Record<string, number> = {};

  /** @param options `DnsOptions` validated by `resolveDnsOptions()` */
  constructor(options: ResolvedDnsOptions) {
    this.options = options;
    const o = options;
    this.budgetMs = o.timeoutMs * o.tries;
    this.#resolver = this.#newResolver();
    if (o.nameservers.length === 0) this.#resolvConf = { mtimeMs: resolvConfMtime(), checkedAt: performance.now() };
    this.#hosts = o.hostsFile === false ? undefined : new HostsFile(o.hostsFile);
    this.#cache = new LRUCache<string, CacheEntry>({ max: o.cacheEntries });
    this.#domains = new FailingDomains({
      maxInFlight: o.maxInFlightPerFailingDomain,
      failingForMs: FAILING_FOR_MS,
      maxTracked: o.cacheEntries,
    });
  }

  /**
   * The addresses of `hostname` (IPv4 first), from an IP literal, the
   * hosts file, the cache or DNS. Never empty.
   * @throws DnsError (`reason` says why; `definitive` for NXDOMAIN / no address)
   * @throws AbortError when `options.signal` aborts
   */
  async lookup(hostname: string, options: DnsLookupOptions = {}): Promise<string[]> {
    this.#counters.lookups += 1;
    const name = normalize(hostname);
    if (isIP(name) !== 0) {
      this.#trace(name, 'ADDR', 'literal', [name], undefined, undefined, 0);
      return [name];
    }
    const fromHosts = this.#fromHosts(name);
    if (fromHosts) {
      this.#counters.hostsHits += 1;
      this.#trace(name, 'ADDR', 'hosts', fromHosts, undefined, undefined, 0);
      return fromHosts;
    }
    const cached = this.#cache.get(name);
    if (cached) {
      this.#counters.cacheHits += 1;
      if (cached.kind === 'addresses') {
        this.#trace(name, 'ADDR', 'cache', cached.addresses, undefined, undefined, 0);
        return cached.addresses;
      }
      this.#countFailure(cached.reason);
      this.#trace(name, 'ADDR', 'cache', [], undefined, cached.reason, 0);
      throw new DnsError(`${cached.message} (remembered)`, { hostname: name, reason: cached.reason });
    }
    const started = performance.now();
    try {
      const answer = await this.#join(`addr ${name}`, name, options, () => this.#queryAddresses(name));
      this.#trace(name, 'ADDR', 'dns', answer.addresses, Math.round(answer.ttlMs / 1000), undefined, performance.now() - started);
      return answer.addresses;
    } catch (error) {
      if (error instanceof DnsError) {
        this.#countFailure(error.reason);
        this.#trace(name, 'ADDR', 'dns', [], undefined, error.reason, performance.now() - started);
      }
      throw error;
    }
  }

  /**
   * The TXT records of `name` (each a list of strings), from DNS; not
   * cached here (the handle cache keeps the answer it derives).
   * @throws DnsError (`definitive` for NXDOMAIN / NODATA)
   * @throws AbortError when `options.signal` aborts
   */
  async resolveTxt(name: string, options: DnsLookupOptions = {}): Promise<string[][]> {
    this.#counters.lookups += 1;
    const fqdn = normalize(name);
    const started = performance.now();
    try {
      const records = await this.#join(`txt ${fqdn}`, fqdn, options, () => this.#queryTxt(fqdn));
      this.#trace(fqdn, 'TXT', 'dns', records.map((r) => r.join('')), undefined, undefined, performance.now() - started);
      return records;
    } catch (error) {
      if (error instanceof DnsError) {
        this.#countFailure(error.reason);
        this.#trace(fqdn, 'TXT', 'dns', [], undefined, error.reason, performance.now() - started);
      }
      throw error;
    }
  }

  /** Empty the cache and forget failing domains. Lookups in flight finish (and their answers are cached). */
  clear(): void {
    this.#cache.clear();
    this.#domains.clear();
  }

  /** Stop: queries in flight are cancelled, later lookups fail. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolver.cancel();
    this.#cache.clear();
  }

  stats(): DnsStats {
    return {
      ...this.#counters,
      inFlight: this.#live.size,
      abandoned: [...this.#live].filter((flight) => flight.abandoned).length,
      waiting: this.#domains.waiting,
      failingDomains: this.#domains.failingCount,
      cacheEntries: this.#cache.size,
      failuresByReason: { ...this.#failuresByReason },
    };
  }

  /**
   * Wait for the lookup `key`: join one in flight, or start it once the
   * name's domain has a slot. The wait ends at the caller's deadline.
   */
  async #join<T>(key: string, name: string, options: DnsLookupOptions, start: () => Flight<T>): Promise<T> {
    if (this.#closed) throw new DnsError(`cannot resolve ${name}: the DNS resolver is closed`, { hostname: name, reason: 'UNKNOWN' });
    const waitMs = Math.max(1, Math.min(options.timeoutMs ?? this.budgetMs, this.budgetMs));
    const deadline = performance.now() + waitMs;
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError('request aborted', { cause: signal.reason });
    let flight = this.#flights.get(key) as Flight<T> | undefined;
    // A caller that asked for the full budget and did not queue is bounded
    // by the flight itself (which then records the outcome before it settles).
    let bounded = waitMs < this.budgetMs;
    if (!flight) {
      const domain = domainOf(name);
      const admitted = this.#domains.acquire(domain, deadline, signal);
      if (admitted !== true) {
        bounded = true;
        if (!(await admitted)) {
          if (signal?.aborted) throw new AbortError('request aborted', { cause: signal.reason });
          throw new DnsError(
            `DNS lookup of ${name} timed out after ${waitMs} ms (waiting behind other lookups under ${domain}, whose DNS is failing)`,
            { hostname: name, reason: 'TIMEOUT' },
          );
        }
      }
      // Another caller may have started the same lookup while this one waited.
      flight = this.#flights.get(key) as Flight<T> | undefined;
      if (flight) this.#domains.release(domain);
      else flight = this.#launch(key, name, domain, start);
    }
    return flight.wait(bounded ? deadline : undefined, signal, waitMs);
  }

  /** Start a flight that holds a domain slot (already taken) and a global one. */
  #launch<T>(key: string, name: string, domain: string, start: () => Flight<T>): Flight<T> {
    if (this.#live.size >= this.options.maxInFlight) {
      this.#domains.release(domain);
      throw new DnsError(`cannot resolve ${name}: ${this.#live.size} DNS lookups are already in flight (dns.maxInFlight)`, {
        hostname: name,
        reason: 'OVERLOADED',
      });
    }
    this.#refreshSystemConfig();
    this.#counters.queries += 1;
    const flight = start();
    this.#flights.set(key, flight as Flight<unknown>);
    this.#live.add(flight as Flight<unknown>);
    // The domain's slot is held until the flight settles (at most the
    // budget); the global count until c-ares has really let go of it.
    flight.onSettled((healthy) => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      this.#domains.report(domain, healthy);
      this.#domains.release(domain);
    });
    flight.onQueriesDone(() => this.#live.delete(flight as Flight<unknown>));
    return flight;
  }

  /** A and/or AAAA at once; IPv4 first. The answer is cached. */
  #queryAddresses(name: string): Flight<AddressAnswer> {
    const family = this.options.family;
    const asked: ('A' | 'AAAA')[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
    const flight = new Flight<AddressAnswer>(name, this.budgetMs, asked.length);
    const results = new Map<'A' | 'AAAA', QueryResult>();
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (graceTimer) clearTimeout(graceTimer);
      const answer = combineAddresses(name, asked, results);
      if (answer instanceof DnsError) {
        this.#remember(name, answer);
        flight.reject(answer);
      } else {
        const ttl = Math.min(answer.ttlMs, this.options.maxTtlMs);
        if (ttl > 0) this.#cache.set(name, { kind: 'addresses', addresses: answer.addresses }, { ttl });
        flight.resolve(answer);
      }
    };
    for (const type of asked) {
      const done = (result: QueryResult): void => {
        flight.queryDone();
        if (flight.settled) return;
        results.set(type, result);
        if (results.size === asked.length) {
          finish();
        } else if ('addresses' in result && result.addresses.length > 0 && !graceTimer) {
          // One family answered: give the other a short grace (RFC 8305's
          // resolution delay), then go on without it.
          graceTimer = setTimeout(finish, RESOLUTION_DELAY_MS);
        }
      };
      const callback = (error: NodeJS.ErrnoException | null, records: RecordWithTtl[]): void => {
        done(error ? { error } : { addresses: records.map((r) => r.address), ttl: Math.min(...records.map((r) => r.ttl)) });
      };
      if (type === 'A') this.#resolver.resolve4(`${name}.`, { ttl: true }, callback);
      else this.#resolver.resolve6(`${name}.`, { ttl: true }, callback);
    }
    flight.onTimeout(() => {
      if (graceTimer) clearTimeout(graceTimer);
      this.#remember(name, flight.timeoutError());
    });
    return flight;
  }

  #queryTxt(name: string): Flight<string[][]> {
    const flight = new Flight<string[][]>(name, this.budgetMs, 1);
    this.#resolver.resolveTxt(`${name}.`, (error, records) => {
      flight.queryDone();
      if (flight.settled) return;
      if (error) flight.reject(toDnsError(name, 'TXT', error));
      else flight.resolve(records);
    });
    return flight;
  }

  /** Cache a failed address lookup: briefly for a failure, longer for "no such name". */
  #remember(name: string, error: DnsError): void {
    const ttl = error.definitive ? this.options.negativeTtlMs : this.options.failureTtlMs;
    if (ttl > 0 && error.reason !== 'OVERLOADED') {
      this.#cache.set(name, { kind: 'failure', reason: error.reason, message: error.message }, { ttl });
    }
  }

  #fromHosts(name: string): string[] | undefined {
    const entry = this.#hosts?.lookup(name);
    if (!entry) return undefined;
    const family = this.options.family;
    const addresses = family === 4 ? entry.v4 : family === 6 ? entry.v6 : [...entry.v4, ...entry.v6];
    return addresses.length > 0 ? addresses : undefined;
  }

  #countFailure(reason: DnsFailureReason): void {
    this.#failuresByReason[reason] = (this.#failuresByReason[reason] ?? 0) + 1;
  }

  #newResolver(): Resolver {
    const resolver = new Resolver({ timeout: this.options.timeoutMs, tries: this.options.tries });
    if (this.options.nameservers.length > 0) resolver.setServers(this.options.nameservers);
    return resolver;
  }

  /** With the system's servers: rebuild the resolver when /etc/resolv.conf changed (checked at most every 5 s). */
  #refreshSystemConfig(): void {
    const conf = this.#resolvConf;
    if (!conf) return;
    const now = performance.now();
    if (now - conf.checkedAt < RESOLV_CONF_CHECK_MS) return;
    conf.checkedAt = now;
    const mtimeMs = resolvConfMtime();
    if (mtimeMs === conf.mtimeMs) return;
    conf.mtimeMs = mtimeMs;
    // Queries in flight on the old resolver run to their end.
    this.#resolver = this.#newResolver();
  }

  #trace(
    hostname: string,
    type: DnsTraceEvent['type'],
    source: DnsTraceEvent['source'],
    answers: string[],
    ttlSeconds: number | undefined,
    errorReason: string | undefined,
    ms: number,
  ): void {
    if (!dnsTrace.hasSubscribers) return;
    const event: DnsTraceEvent = { hostname, type, source, answers, ttlSeconds, errorReason, ms };
    dnsTrace.publish(event);
  }
}

/** How long a domain stays "failing" after its last timeout or SERVFAIL, unless a lookup succeeds. */
const FAILING_FOR_MS = 30_000;
/** How long to wait for the second address family once the first answered (RFC 8305 §3). */
const RESOLUTION_DELAY_MS = 50;
const RESOLV_CONF_CHECK_MS = 5_000;
/** Deadlines this close to a flight's own end count as the same one. */
const SAME_DEADLINE_MS = 2;

type CacheEntry =
  | { kind: 'addresses'; addresses: string[] }
  | { kind: 'failure'; reason: DnsFailureReason; message: string };

interface AddressAnswer {
  addresses: string[];
  ttlMs: number;
}

type QueryResult = { addresses: string[]; ttl: number } | { error: NodeJS.ErrnoException };

/**
 * One lookup at the DNS servers, shared by every caller that wants it.
 * Settles at its answer or after `budgetMs`; its queries may run longer
 * (c-ares gives up on its own schedule) and are tracked until they end.
 */
class Flight<T> {
  readonly #name: string;
  readonly #budgetMs: number;
  /** When the budget timer settles the flight (`performance.now()` clock). */
  readonly #endsAt: number;
  #queriesLeft: number;
  #waiters = 0;
  #result: Outcome<T> | undefined;
  readonly #listeners: ((outcome: Outcome<T>) => void)[] = [];
  #onSettled: ((healthy: boolean) => void) | undefined;
  #onQueriesDone: (() => void) | undefined;
  #onTimeout: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(name: string, budgetMs: number, queries: number) {
    this.#name = name;
    this.#budgetMs = budgetMs;
    this.#endsAt = performance.now() + budgetMs;
    this.#queriesLeft = queries;
    this.#timer = setTimeout(() => {
      if (this.settled) return;
      this.#onTimeout?.();
      this.reject(this.timeoutError());
    }, budgetMs);
  }

  get settled(): boolean {
    return this.#result !== undefined;
  }

  /** Still at the DNS servers while nobody waits for it: settled early, or every caller gave up. */
  get abandoned(): boolean {
    return this.#queriesLeft > 0 && (this.settled || this.#waiters === 0);
  }

  timeoutError(): DnsError {
    return new DnsError(`DNS lookup of ${this.#name} timed out after ${this.#budgetMs} ms`, { hostname: this.#name, reason: 'TIMEOUT' });
  }

  /** Called once when the flight settles; `healthy` is false for a timeout or server failure. */
  onSettled(listener: (healthy: boolean) => void): void {
    this.#onSettled = listener;
  }

  /** Called once when every query of the flight has ended. */
  onQueriesDone(listener: () => void): void {
    this.#onQueriesDone = listener;
  }

  /** Called once if `budgetMs` passes before an answer. */
  onTimeout(listener: () => void): void {
    this.#onTimeout = listener;
  }

  resolve(value: T): void {
    this.#settle({ ok: true, value });
  }

  reject(error: DnsError): void {
    this.#settle({ ok: false, error });
  }

  /** One of this flight's c-ares queries ended (answered, failed, or cancelled). */
  queryDone(): void {
    this.#queriesLeft -= 1;
    if (this.#queriesLeft === 0) this.#onQueriesDone?.();
  }

  /**
   * Wait for the result until `deadline` (`performance.now()` clock;
   * `undefined`: until the flight settles, at most its budget) or `signal`.
   */
  wait(deadline: number | undefined, signal: AbortSignal | undefined, waitMs: number): Promise<T> {
    const result = this.#result;
    if (result) return result.ok ? Promise.resolve(result.value) : Promise.reject(result.error);
    this.#waiters += 1;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        this.#waiters -= 1;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      // A caller that waits as long as the flight lets the flight settle it
      // (so the outcome, e.g. a failing domain, is recorded first).
      const timer =
        deadline !== undefined && deadline < this.#endsAt - SAME_DEADLINE_MS
          ? setTimeout(() => {
              const error = new DnsError(`DNS lookup of ${this.#name} timed out after ${waitMs} ms`, { hostname: this.#name, reason: 'TIMEOUT' });
              finish(() => reject(error));
            }, Math.max(0, deadline - performance.now()))
          : undefined;
      const onAbort = (): void => finish(() => reject(new AbortError('request aborted', { cause: signal?.reason })));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#listeners.push((outcome) => finish(() => (outcome.ok ? resolve(outcome.value) : reject(outcome.error))));
    });
  }

  #settle(result: Outcome<T>): void {
    if (this.#result) return;
    this.#result = result;
    clearTimeout(this.#timer);
    // A timeout or a server failure marks the domain failing; an answer,
    // even "no such name", means its DNS works.
    const healthy = result.ok || result.error.definitive || result.error.reason === 'BAD_RESPONSE';
    this.#onSettled?.(healthy);
    for (const listener of this.#listeners.splice(0)) listener(result);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: DnsError };

/** c-ares error codes (as node:dns names them) → why the lookup failed. */
const REASONS: Record<string, DnsFailureReason> = {
  ENOTFOUND: 'NOT_FOUND',
  // A name no DNS server can hold (a label over 63 bytes, a name over 253).
  EBADNAME: 'NOT_FOUND',
  ENODATA: 'NO_DATA',
  ESERVFAIL: 'SERVER_FAILURE',
  EREFUSED: 'SERVER_FAILURE',
  ENOTIMP: 'SERVER_FAILURE',
  EFORMERR: 'SERVER_FAILURE',
  ECONNREFUSED: 'SERVER_FAILURE',
  ETIMEOUT: 'TIMEOUT',
  EBADRESP: 'BAD_RESPONSE',
};

const WORDS: Record<DnsFailureReason, string> = {
  NOT_FOUND: 'no such name (NXDOMAIN)',
  NO_DATA: 'no record of that type',
  SERVER_FAILURE: 'the DNS server failed',
  TIMEOUT: 'timed out',
  BAD_RESPONSE: 'bad DNS response',
  OVERLOADED: 'too many lookups in flight',
  UNKNOWN: 'failed',
};

function toDnsError(name: string, type: string, error: NodeJS.ErrnoException): DnsError {
  const code = error.code ?? 'UNKNOWN';
  const reason = REASONS[code] ?? 'UNKNOWN';
  return new DnsError(`DNS ${type} lookup of ${name}: ${WORDS[reason]} (${code})`, { hostname: name, reason, cause: error });
}

/**
 * The addresses of one name from its A and AAAA results. Addresses if
 * either family has some; else "not found" only when every family said
 * so authoritatively, else the transient failure.
 */
function combineAddresses(name: string, asked: ('A' | 'AAAA')[], results: Map<'A' | 'AAAA', QueryResult>): AddressAnswer | DnsError {
  const addresses: string[] = [];
  let ttl = Infinity;
  const errors: DnsError[] = [];
  for (const type of asked) {
    const result = results.get(type);
    if (!result) continue;
    if ('error' in result) {
      errors.push(toDnsError(name, type, result.error));
    } else if (result.addresses.length > 0) {
      addresses.push(...result.addresses);
      ttl = Math.min(ttl, result.ttl);
    } else {
      errors.push(new DnsError(`DNS ${type} lookup of ${name}: ${WORDS.NO_DATA}`, { hostname: name, reason: 'NO_DATA' }));
    }
  }
  if (addresses.length > 0) return { addresses, ttlMs: Number.isFinite(ttl) ? ttl * 1000 : 0 };
  const transient = errors.find((e) => !e.definitive);
  if (transient) return transient;
  const reason: DnsFailureReason = errors.every((e) => e.reason === 'NOT_FOUND') ? 'NOT_FOUND' : 'NO_DATA';
  const what = reason === 'NOT_FOUND' ? WORDS.NOT_FOUND : 'no address (no A or AAAA record)';
  return new DnsError(`cannot resolve ${name}: ${what}`, { hostname: name, reason, cause: errors[0]?.cause });
}

/** Lower-case, without brackets or a trailing dot. */
function normalize(hostname: string): string {
  let name = hostname.toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name;
}

/** The registrable domain of a name (its public suffix + one label), or the name itself. */
function domainOf(name: string): string {
  return getDomain(name, { allowPrivateDomains: true }) ?? name;
}

function resolvConfMtime(): number {
  try {
    return statSync('/etc/resolv.conf').mtimeMs;
  } catch {
    return -1;
  }
}
