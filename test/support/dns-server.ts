import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';

/** What the scripted DNS server answers for one name. */
export type DnsRecord =
  | { txt: (string | Buffer)[][] }
  | { rcode: 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' }
  /** Never answer (the client times out). */
  | { drop: true };

/**
 * A real DNS server on a loopback UDP port whose answers a test scripts
 * per name (case-insensitive). Unknown names are NXDOMAIN. For resolver
 * tests that need records the world does not serve: conflicting TXT,
 * floods, SERVFAIL, silence.
 */
export interface ScriptedDnsServer {
  /** `127.0.0.1:<port>`, for `nameservers`. */
  readonly address: string;
  /** Queries received, by lower-cased name. */
  readonly queries: Map<string, number>;
  set(name: string, record: DnsRecord): void;
  /** Encode a full DNS response for `name` (used to serve DNS-over-HTTPS from an HTTPS route). */
  answer(query: Buffer): Buffer | undefined;
  close(): Promise<void>;
}

const RCODES = { NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const;

export async function startScriptedDns(): Promise<ScriptedDnsServer> {
  const records = new Map<string, DnsRecord>();
  const queries = new Map<string, number>();
  const socket = createSocket('udp4');

  const answer = (message: Buffer): Buffer | undefined => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    queries.set(name, (queries.get(name) ?? 0) + 1);
    const record = records.get(name) ?? { rcode: 'NXDOMAIN' as const };
    if ('drop' in record) return undefined;
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
      questions: [question],
    };
    if ('rcode' in record) {
      // dns-packet encodes the rcode from the low four bits of flags.
      return dnsPacket.encode({ ...base, flags: base.flags | RCODES[record.rcode] });
    }
    return dnsPacket.encode({
      ...base,
      answers: question.type === 'TXT'
        ? record.txt.map((data) => ({ type: 'TXT' as const, name: question.name, ttl: 60, class: 'IN' as const, data }))
        : [],
    });
  };

  socket.on('message', (message: Buffer, remote: RemoteInfo) => {
    const response = answer(message);
    if (response) socket.send(response, remote.port, remote.address);
  });
  socket.on('error', () => undefined);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');

  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    set(name, record) {
      records.set(name.toLowerCase(), record);
    },
    answer,
    async close() {
      const closed = once(socket, 'close');
      socket.close();
      await closed;
    },
  };
}
