import { Resolver } from 'node:dns/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { ConnectToMap } from '../../src/transport/connect-to.js';

/** What a client needs to reach a world (in-process or child). */
export interface WorldAccess {
  readonly connectTo: Readonly<Record<string, string>>;
  readonly caPem: string;
  readonly dnsServer: string;
}

/** A complete response. */
export interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A failed exchange, with what arrived before the failure. */
export class FetchFailed extends Error {
  constructor(
    message: string,
    readonly partial: { status?: number; headers?: IncomingHttpHeaders; bytes: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * GET `url` from the world with node:https: connect to the `connectTo`
 * target, send SNI and Host for the URL's host (Host overridable), trust
 * only the world's CA.
 * Rejects with `FetchFailed` (with the partial response) on a socket error,
 * a truncated body, or after `timeoutMs` (default 5000).
 */
export function worldGet(
  world: WorldAccess,
  url: string,
  options: { agent?: Agent; timeoutMs?: number; method?: string; hostHeader?: string } = {},
): Promise<Fetched> {
  const target = new URL(url);
  const port = Number(target.port || 443);
  const to = new ConnectToMap(world.connectTo).lookup(target.hostname, port);
  if (to === undefined) return Promise.reject(new Error(`no connectTo rule for ${target.hostname}:${port}`));
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    let headers: IncomingHttpHeaders | undefined;
    let bytes = 0;
    const fail = (message: string, cause?: unknown): void =>
      reject(new FetchFailed(message, { status, headers, bytes }, { cause }));
    const req = request(
      {
        host: to.ip,
        port: to.port,
        servername: target.hostname,
        headers: { host: options.hostHeader ?? target.host },
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        ca: world.caPem,
        agent: options.agent ?? false,
      },
      (res) => {
        status = res.statusCode;
        headers = res.headers;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (!res.complete) fail('truncated body');
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (error) => fail(`response error: ${error.message}`, error));
      },
    );
    req.setTimeout(options.timeoutMs ?? 5_000, () => {
      req.destroy();
      fail('timeout');
    });
    req.on('error', (error) => fail(`request error: ${error.message}`, error));
    req.end();
  });
}

/** A keep-alive agent trusting the world's CA, one socket per host (so reuse is observable). */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/** A DNS resolver pointed at the world, one try per query so server counts equal client queries. */
export function worldResolver(world: WorldAccess, timeoutMs = 1_000): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([world.dnsServer]);
  return resolver;
}
