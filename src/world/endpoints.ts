import { HANDLE_DOMAIN, IdentityScheme, PLC_HOST, WEB_DOMAIN, type WorldIdentity } from './identities.js';
import type { ResolvedWorldOptions } from './options.js';

/** Where the world listens and what a client must trust to reach it. */
export interface WorldEndpoints {
  /** The PLC directory URL to give a resolver: always `https://plc.test`. */
  readonly plcUrl: string;
  /**
   * `connectTo` rules sending every world host to the one HTTPS server:
   * `{ 'plc.test:443': '127.0.0.1:<port>', '*.web.test:443': …, '*.handle.test:443': … }`.
   * The transports' `connectTo` option takes exactly this map.
   */
  readonly connectTo: Readonly<Record<string, string>>;
  /** Path of the world's CA certificate (PEM); removed by `close()`. */
  readonly caFile: string;
  /** The world's CA certificate (PEM), to trust in clients. */
  readonly caPem: string;
  /** The DNS server, `127.0.0.1:<port>`, for `Resolver.setServers([dnsServer])`. */
  readonly dnsServer: string;
  /** The HTTPS server's port on 127.0.0.1. */
  readonly httpsPort: number;
  /** The DNS server's UDP port on 127.0.0.1. */
  readonly dnsPort: number;
}

/** The endpoints of a world whose servers listen on these ports. */
export function worldEndpoints(httpsPort: number, dnsPort: number, ca: { certFile: string; certPem: string }): WorldEndpoints {
  const target = `127.0.0.1:${httpsPort}`;
  return {
    plcUrl: `https://${PLC_HOST}`,
    connectTo: {
      [`${PLC_HOST}:443`]: target,
      [`*.${WEB_DOMAIN}:443`]: target,
      [`*.${HANDLE_DOMAIN}:443`]: target,
    },
    caFile: ca.certFile,
    caPem: ca.certPem,
    dnsServer: `127.0.0.1:${dnsPort}`,
    httpsPort,
    dnsPort,
  };
}

/**
 * What an in-process `World` and a `WorldProcess` have in common: the
 * endpoints, the resolved options, and the identity helpers, which are pure
 * functions of the options and so answer locally in both.
 */
export abstract class WorldView implements WorldEndpoints {
  readonly plcUrl: string;
  readonly connectTo: Readonly<Record<string, string>>;
  readonly caFile: string;
  readonly caPem: string;
  readonly dnsServer: string;
  readonly httpsPort: number;
  readonly dnsPort: number;
  /** The options the world runs with, defaults filled in. */
  readonly options: ResolvedWorldOptions;
  /** The identity scheme (counts, reverse look-ups, keys). */
  readonly identities: IdentityScheme;

  protected constructor(endpoints: WorldEndpoints, options: ResolvedWorldOptions, identities?: IdentityScheme) {
    this.plcUrl = endpoints.plcUrl;
    this.connectTo = Object.freeze({ ...endpoints.connectTo });
    this.caFile = endpoints.caFile;
    this.caPem = endpoints.caPem;
    this.dnsServer = endpoints.dnsServer;
    this.httpsPort = endpoints.httpsPort;
    this.dnsPort = endpoints.dnsPort;
    this.options = options;
    this.identities = identities ?? new IdentityScheme(options);
  }

  /**
   * Identity `index` (`0 ≤ index < options.identities`), with handle
   * `u<index>.handle.test`.
   * @throws UnknownIdentityError when out of range
   */
  identity(index: number): WorldIdentity {
    return this.identities.identity(index);
  }

  /**
   * The `k`-th did:plc identity (`0 ≤ k < identities.plcCount`).
   * @throws UnknownIdentityError when out of range
   */
  plcIdentity(k: number): WorldIdentity {
    return this.identities.plcIdentity(k);
  }

  /**
   * The `k`-th did:web identity (`0 ≤ k < identities.webCount`).
   * @throws UnknownIdentityError when out of range
   */
  webIdentity(k: number): WorldIdentity {
    return this.identities.webIdentity(k);
  }
}
