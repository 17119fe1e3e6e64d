import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import type { CounterSet } from './counters.js';
import type { FaultPlan } from './faults.js';
import type { IdentityScheme } from './identities.js';

/** What the DNS server needs from the world. */
export interface DnsServerConfig {
  scheme: IdentityScheme;
  plan: FaultPlan;
  counters: CounterSet;
}

/** TTL of a TXT answer: one minute, like a typical managed-DNS default. */
const TXT_TTL_SECONDS = 60;
const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const TXT_PREFIX = '_atproto.';

/**
 * An authoritative DNS server on a loopback UDP port. It knows exactly one
 * kind of name, `_atproto.u<i>.handle.test`, whose TXT record is
 * `did=<did of identity i>`; every other name is NXDOMAIN, and another record
 * type of a known name is an empty NOERROR answer. Queries that would be
 * answered draw a fault from the `dns` stream.
 */
export class DnsServer {
  readonly #config: DnsServerConfig;
  readonly #socket: Socket;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed: Promise<void> | undefined;

  private constructor(config: DnsServerConfig, socket: Socket) {
    this.#config = config;
    this.#socket = socket;
  }

  /** Bind 127.0.0.1, port 0. */
  static async start(config: DnsServerConfig): Promise<DnsServer> {
    const socket = createSocket('udp4');
    const server = new DnsServer(config, socket);
    socket.on('message', (message: Buffer, remote: RemoteInfo) => server.#onMessage(message, remote));
    // A send to a client that went away must not crash the world.
    socket.on('error', () => undefined);
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    return server;
  }

  /** The UDP port on 127.0.0.1. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Cancel delayed answers and close the socket. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      const closed = once(this.#socket, 'close');
      this.#socket.close();
      await closed;
    })();
    return this.#closed;
  }

  #onMessage(message: Buffer, remote: RemoteInfo): void {
    const count = this.#config.counters.kinds.dns;
    count.requests += 1;
    let query: Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      count.rejected += 1;
      return;
    }
    const question = query.questions?.length === 1 ? query.questions[0] : undefined;
    if (query.type !== 'query' || question === undefined) {
      count.rejected += 1;
      this.#reply(remote, query, RCODE_FORMERR, []);
      return;
    }
    const name = question.name.toLowerCase();
    const { scheme, plan } = this.#config;
    const index = name.startsWith(TXT_PREFIX) ? scheme.indexOfHandle(name.slice(TXT_PREFIX.length)) : undefined;
    if (index === undefined) {
      count.notFound += 1;
      this.#reply(remote, query, RCODE_NXDOMAIN, []);
      return;
    }
    if (question.type !== 'TXT') {
      count.notFound += 1;
      this.#reply(remote, query, RCODE_NOERROR, []);
      return;
    }
    const fault = plan.draw('dns');
    if (fault === undefined) {
      count.ok += 1;
      this.#reply(remote, query, RCODE_NOERROR, [txt(question, scheme.didOf(index))]);
      return;
    }
    count.faults[fault] += 1;
    switch (fault) {
      case 'notFound':
        this.#reply(remote, query, RCODE_NXDOMAIN, []);
        return;
      case 'serverError':
        this.#reply(remote, query, RCODE_SERVFAIL, []);
        return;
      case 'timeout':
        return;
      case 'wrongId':
        this.#reply(remote, query, RCODE_NOERROR, [txt(question, scheme.otherDid(index))]);
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#reply(remote, query, RCODE_NOERROR, [txt(question, scheme.didOf(index))]);
        }, plan.faults.slowMs);
        this.#timers.add(timer);
        return;
      }
      default:
        // HTTPS-only faults are refused for `dns` by resolveFaults().
        this.#reply(remote, query, RCODE_SERVFAIL, []);
    }
  }

  #reply(remote: RemoteInfo, query: Packet, rcode: number, answers: Answer[]): void {
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: query.questions ?? [],
      answers,
    });
    this.#socket.send(response, remote.port, remote.address);
  }
}

function txt(question: Question, did: string): Answer {
  return { type: 'TXT', name: question.name, class: 'IN', ttl: TXT_TTL_SECONDS, data: `did=${did}` };
}
