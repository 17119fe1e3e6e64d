import dnsPacket from 'dns-packet';
import type { Transport } from '../transport/types.js';
import { requestFailed, ResolutionFailedError } from './errors.js';
import type { HandleMethod } from './types.js';
import { didFromTxtRecords } from './txt-records.js';


/** Sent with every DoH query; frozen, so the transport merges it with its defaults once. */
const DOH_HEADERS = Object.freeze({ accept: 'application/dns-message' });

/** Options for DNS-over-HTTPS lookups (RFC 8484, GET with `?dns=`). */
export interface DohOptions {
  /** The DoH endpoint, e.g. `https://cloudflare-dns.com/dns-query`. */
  url: string;
  transport: Transport;
  timeoutMs: number;
  /** Cap on the DNS message size. */
  maxResponseBytes: number;
}

/** CNAME hops followed inside one DoH answer before giving up. */
const MAX_CNAME_HOPS = 8;

/**
 * `_atproto.<handle>` TXT lookups over DNS-over-HTTPS through the same
 * transport (so the SSRF guard, limits and pools apply to DoH too).
 */
export function createDohTxtMethod(options: DohOptions): HandleMethod {
  return async (handle, signal) => {
    const name = `_atproto.${handle}`;
    const query = dnsPacket.encode({
      type: 'query',
      id: 0, // RFC 8484 §4.1: id 0 keeps GET responses cacheable.
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'TXT', name }],
    });
    const url = new URL(options.url);
    url.searchParams.set('dns', query.toString('base64url'));
    let response;
    try {
      response = await options.transport.request(url.href, {
        headers: DOH_HEADERS,
        timeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw requestFailed(handle, `DNS-over-HTTPS query to ${url.origin} failed`, error);
    }
    if (response.status !== 200) {
      throw new ResolutionFailedError(handle, `DNS-over-HTTPS server answered HTTP ${response.status}`, { status: response.status });
    }
    let packet: ReturnType<typeof dnsPacket.decode>;
    try {
      packet = dnsPacket.decode(response.body);
    } catch (cause) {
      throw new ResolutionFailedError(handle, 'DNS-over-HTTPS answer is not a DNS message', { cause });
    }
    const rcode = (packet as { rcode?: string }).rcode;
    if (rcode === 'NXDOMAIN') return undefined;
    if (rcode !== 'NOERROR') throw new ResolutionFailedError(handle, `DNS-over-HTTPS answered ${rcode ?? 'an unknown code'}`);
    return didFromTxtRecords(handle, txtRecordsFor(name, packet.answers ?? []));
  };
}

/** TXT data for `name`, following CNAMEs within the answer section. */
function txtRecordsFor(name: string, answers: readonly dnsPacket.Answer[]): (string | Uint8Array)[][] {
  const names = new Set([name.toLowerCase()]);
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop += 1) {
    let grew = false;
    for (const answer of answers) {
      if (answer.type === 'CNAME' && names.has(answer.name.toLowerCase()) && !names.has(answer.data.toLowerCase())) {
        names.add(answer.data.toLowerCase());
        grew = true;
      }
    }
    if (!grew) break;
  }
  const records: (string | Uint8Array)[][] = [];
  for (const answer of answers) {
    if (answer.type !== 'TXT' || !names.has(answer.name.toLowerCase())) continue;
    const data = answer.data;
    records.push(Array.isArray(data) ? data : [data]);
  }
  return records;
}
