import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';

/** What the scripted DNS server answers for one name. */
export type DnsRecord =
  | { txt: (string | Buffer)[][]; ttl?: number }
  /** Address records; a query for the other type gets an empty NOERROR. */
  | { a?: string[]; aaaa?: string[]; ttl?: number }
  | { rcode: 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' }
  /** Never answer (the client times out). */
  | { drop: true }
  /** The n-th query of a type for this name gets the n-th record (the last one repeats): DNS rebinding. */
  | { rotate: DnsRecord[] }
  /** Answer `then` after `delayMs` (a slow upstream, e.g. a resolver that gives up with SERVFAIL). */
  | { delayMs: number; then: DnsRecord };

/** Where the scripted DNS server listens. */
export interface ScriptedDnsOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `0` (any free port); `53` inside a network namespace. */
  port?: number;
}

/**
 * A real DNS server on a loopback UDP port whose answers a test scripts
 * per name (case-insensitive). Unknown names are NXDOMAIN. For resolver
 * tests that need records the world does not serve: conflicting TXT,
 * floods, SERVFAIL, silence, and (inside the network namespace of
 * `npm run test:netns`, where it is the system resolver) A/AAAA answers
 * pointing at forbidden addresses.
 */
export interface ScriptedDnsServer {
  /** `127.0.0.1:<port>`, for `nameservers`. */
  readonly address: string;
  /** Queries received, by lower-cased name. */
  readonly queries: Map<string, number>;
  /** Script the answers for `name` (a rotation starts over). */
  set(name: string, record: DnsRecord): void;
  /** Encode a full DNS response for `name` (used to serve DNS-over-HTTPS from an HTTPS route). */
  answer(query: Buffer): Buffer | undefined;
  close(): Promise<void>;
}

const RCODES = { NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const;

export async function startScriptedDns(options: ScriptedDnsOptions = {}): Promise<ScriptedDnsServer> {
  const records = new Map<string, DnsRecord>();
  const queries = new Map<string, number>();
  const typedQueries = new Map<string, number>();
  const socket = createSocket('udp4');

  const answer = (message: Buffer): Buffer | undefined => respond(message).response;
  /** The encoded answer to a query, and how long to hold it. */
  const respond = (message: Buffer): { response: Buffer | undefined; delayMs: number } => {
    const none = { response: undefined, delayMs: 0 };
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return none;
    }
    const question = query.questions?.[0];
    if (!question) return none;
    const name = question.name.toLowerCase();
    queries.set(name, (queries.get(name) ?? 0) + 1);
    const typed = `${name} ${question.type}`;
    const nth = typedQueries.get(typed) ?? 0;
    typedQueries.set(typed, nth + 1);
    let record: DnsRecord = records.get(name) ?? { rcode: 'NXDOMAIN' as const };
    let delayMs = 0;
    if ('delayMs' in record) {
      delayMs = record.delayMs;
      record = record.then;
    }
    // A rotation of rotations is not a thing; its inner record is taken as NXDOMAIN.
    if ('rotate' in record) record = record.rotate[Math.min(nth, record.rotate.length - 1)] ?? { rcode: 'NXDOMAIN' };
    if ('rotate' in record || 'delayMs' in record) record = { rcode: 'NXDOMAIN' };
    if ('drop' in record) return none;
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
      questions: [question],
    };
    if ('rcode' in record) {
      // dns-packet encodes the rcode from the low four bits of flags.
      return { response: dnsPacket.encode({ ...base, flags: base.flags | RCODES[record.rcode] }), delayMs };
    }
    const ttl = record.ttl ?? 60;
    const answers: dnsPacket.Answer[] = [];
    if ('txt' in record) {
      if (question.type === 'TXT') {
        for (const data of record.txt) answers.push({ type: 'TXT', name: question.name, ttl, class: 'IN', data });
      }
    } else if (question.type === 'A') {
      for (const data of record.a ?? []) answers.push({ type: 'A', name: question.name, ttl, class: 'IN', data });
    } else if (question.type === 'AAAA') {
      for (const data of record.aaaa ?? []) answers.push({ type: 'AAAA', name: question.name, ttl, class: 'IN', data });
    }
    return { response: dnsPacket.encode({ ...base, answers }), delayMs };
  };

  const timers = new Set<NodeJS.Timeout>();
  socket.on('message', (message: Buffer, remote: RemoteInfo) => {
    const { response, delayMs } = respond(message);
    if (!response) return;
    if (delayMs === 0) {
      socket.send(response, remote.port, remote.address);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      socket.send(response, remote.port, remote.address);
    }, delayMs);
    timers.add(timer);
  });
  socket.on('error', () => undefined);
  socket.bind(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(socket, 'listening');

  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    set(name, record) {
      const lower = name.toLowerCase();
      records.set(lower, record);
      // A new script for the name starts its rotation over.
      for (const key of typedQueries.keys()) if (key.startsWith(`${lower} `)) typedQueries.delete(key);
    },
    answer,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = once(socket, 'close');
      socket.close();
      await closed;
    },
  };
}

/** A nameserver that takes every query and never answers. */
export interface SilentDnsServer {
  /** `<host>:<port>`, for `nameservers`. */
  readonly address: string;
  close(): Promise<void>;
}

/** A dead nameserver: a real UDP socket on loopback (or `host`) that reads every query and answers none. */
export async function startSilentDns(options: ScriptedDnsOptions = {}): Promise<SilentDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket('udp4');
  socket.on('message', () => undefined);
  socket.on('error', () => undefined);
  socket.bind(options.port ?? 0, host);
  await once(socket, 'listening');
  return {
    address: `${host}:${socket.address().port}`,
    async close() {
      const closed = once(socket, 'close');
      socket.close();
      await closed;
    },
  };
}
