import { parseNameserver } from '../dns/nameservers.js';
import { AtresolveError, InvalidOptionsError } from '../errors.js';
import { IdResolver, type Identity } from '../resolve/id-resolver.js';
import type { IdResolverOptions } from '../resolve/options.js';
import { HANDLE_STRATEGIES, type HandleStrategy } from '../resolve/handle-strategy.js';
import { CurlTransport } from '../transport/curl.js';
import { createTransport } from '../transport/create.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { UndiciTransport } from '../transport/undici.js';
import { flagHelp, listFlag, parseChoice, parseDuration, parseFlags, stringFlag, type FlagTable } from './args.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/**
 * `atresolve resolve <did|handle>…`: resolve each input to a verified
 * identity (`IdResolver.resolveIdentity()`, caching off) and print it as
 * JSON. Exit statuses tell the kind of failure apart (see `EXIT`).
 */

/** Exit statuses of `atresolve resolve` (and 2 for usage errors of any command). */
export const EXIT = {
  /** Every input resolved. */
  ok: 0,
  /** An unexpected failure (a bug, or the transport could not start). */
  internal: 1,
  /** A usage error: unknown flag, bad value, missing argument. */
  usage: 2,
  /** An input is neither a valid DID nor a valid handle, or its DID method is unsupported. */
  invalidInput: 3,
  /** The authority says there is no such DID, or no DID for the handle. */
  notFound: 4,
  /** A network failure: timeout, refused connection, TLS, DNS server failure, server error. */
  network: 5,
  /** The answer was unusable: an invalid DID document, a document for another DID, an ambiguous handle. */
  badAnswer: 6,
} as const;

/** The transport kinds the CLI can be told to use. */
export const TRANSPORT_CHOICES = ['curl', 'undici'] as const;

/** Flags of `atresolve resolve`. */
export const RESOLVE_FLAGS: FlagTable = {
  'plc-url': { type: 'string', value: 'URL', defaultText: 'https://plc.directory', help: 'the PLC directory' },
  'dns-server': {
    type: 'string',
    multiple: true,
    value: 'IP[:PORT]',
    defaultText: "the system's",
    help: 'DNS server for _atproto TXT lookups (repeatable)',
  },
  timeout: { type: 'string', value: 'DURATION', defaultText: '3s', help: 'time limit of each HTTP fetch' },
  transport: { type: 'string', value: 'curl|undici', defaultText: 'curl when the native addon loads', help: 'HTTP transport' },
  'handle-strategy': {
    type: 'string',
    value: HANDLE_STRATEGIES.join('|'),
    defaultText: 'both',
    help: 'how DNS and HTTPS are combined for handles',
  },
  'ca-file': { type: 'string', value: 'FILE', help: 'a PEM CA to trust in addition to the system roots' },
  'connect-to': {
    type: 'string',
    multiple: true,
    value: 'HOST:PORT:IP:PORT',
    help: "connect to IP:PORT instead of HOST:PORT, like curl's --connect-to; HOST may be *.domain (repeatable)",
  },
  'allow-private-network': { type: 'boolean', help: 'allow loopback and private addresses (refused by default: SSRF guard)' },
  'allow-test-tlds': { type: 'boolean', help: 'resolve .test handles and did:web hosts (for a local world)' },
};

/** The `--help` text of `atresolve resolve`. */
export function resolveHelp(): string {
  return `Usage: atresolve resolve [flags] <did|handle>...

Resolve each DID or handle to a verified identity (the handle must resolve to
the DID and the DID's document must declare the handle; otherwise handle is
"handle.invalid") and print it as JSON: pretty for one input, one line per
input for several. Failures go to stderr. Caching is off.

Flags:
${flagHelp(RESOLVE_FLAGS)}

Exit status (with several inputs, that of the first input that failed):
  0  every input resolved
  1  unexpected failure
  2  usage error
  3  invalid input (not a DID or handle, unsupported DID method)
  4  not found (no such DID, no DID for the handle)
  5  network failure (timeout, connection, TLS, DNS server, server error)
  6  unusable answer (invalid DID document, wrong id, ambiguous handle)`;
}

/** The exit status for an error thrown by `resolveIdentity()`. */
export function exitStatusOf(error: unknown): number {
  const code = error instanceof AtresolveError ? error.code : undefined;
  switch (code) {
    case 'INVALID_DID':
    case 'INVALID_HANDLE':
    case 'UNSUPPORTED_DID_METHOD':
      return EXIT.invalidInput;
    case 'DID_NOT_FOUND':
    case 'HANDLE_NOT_FOUND':
      return EXIT.notFound;
    case 'INVALID_DID_DOCUMENT':
    case 'DID_DOCUMENT_MISMATCH':
    case 'AMBIGUOUS_HANDLE':
      return EXIT.badAnswer;
    case undefined:
      return EXIT.internal;
    default:
      // RESOLUTION_FAILED and the transport's errors: transient, network-side.
      return EXIT.network;
  }
}

/**
 * Parse `HOST:PORT:IP:PORT` (curl's `--connect-to`) into a `connectTo` rule.
 * @throws UsageError when malformed
 */
export function parseConnectTo(text: string): [string, string] {
  const match = /^([^:[\]]+:\d+):((?:\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d+)$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new UsageError(`--connect-to: expected HOST:PORT:IP:PORT, got '${text}'`, { flag: '--connect-to' });
  }
  return [match[1], match[2]];
}

/** A `--dns-server` value, checked before anything starts. */
function parseDnsServer(text: string): string {
  try {
    return parseNameserver(text, '--dns-server');
  } catch (error) {
    const why = error instanceof InvalidOptionsError ? error.message.replace(/^invalid option --dns-server: /, '') : String(error);
    throw new UsageError(`--dns-server: ${why}`, { flag: '--dns-server' });
  }
}

/** The resolver options the `resolve` flags describe (validated by `IdResolver` itself). */
function resolverOptions(values: ReturnType<typeof parseFlags>['values']): { options: IdResolverOptions; transport: TransportOptions; kind: string | undefined } {
  const transport: TransportOptions = {};
  const caFile = stringFlag(values, 'ca-file');
  if (caFile !== undefined) transport.caFile = caFile;
  const connectTo = listFlag(values, 'connect-to');
  if (connectTo.length > 0) transport.connectTo = Object.fromEntries(connectTo.map(parseConnectTo));
  if (values['allow-private-network'] === true) transport.allowPrivateNetwork = true;
  const timeoutText = stringFlag(values, 'timeout');
  const options: IdResolverOptions = {
    cache: false,
    allowTestTlds: values['allow-test-tlds'] === true,
    timeoutMs: timeoutText === undefined ? 3_000 : parseDuration('--timeout', timeoutText, 1, 600_000),
  };
  const plcUrl = stringFlag(values, 'plc-url');
  if (plcUrl !== undefined) {
    if (!URL.canParse(plcUrl) || !/^https?:$/.test(new URL(plcUrl).protocol)) {
      throw new UsageError(`--plc-url: expected an http(s) URL, got '${plcUrl}'`, { flag: '--plc-url' });
    }
    options.plcUrl = plcUrl;
  }
  const dnsServers = listFlag(values, 'dns-server').map(parseDnsServer);
  if (dnsServers.length > 0) {
    // One name resolution serves the transport's hosts and the TXT lookups.
    options.dns = { nameservers: dnsServers };
    transport.dns = { nameservers: dnsServers };
  }
  const strategy = stringFlag(values, 'handle-strategy');
  if (strategy !== undefined) options.handleStrategy = parseChoice<HandleStrategy>('--handle-strategy', strategy, HANDLE_STRATEGIES);
  const kindText = stringFlag(values, 'transport');
  const kind = kindText === undefined ? undefined : parseChoice('--transport', kindText, TRANSPORT_CHOICES);
  return { options, transport, kind };
}

/** Make the transport the flags ask for. */
function makeTransport(kind: string | undefined, options: TransportOptions): Transport {
  if (kind === 'curl') return new CurlTransport(options);
  if (kind === 'undici') return new UndiciTransport(options);
  return createTransport(options);
}

/** The JSON printed for one identity. */
function identityJson(identity: Identity): object {
  return {
    did: identity.did,
    handle: identity.handle,
    declaredHandle: identity.declaredHandle ?? null,
    pds: identity.pds ?? null,
    signingKey: identity.signingKey ?? null,
    doc: identity.doc,
  };
}

/**
 * Run `atresolve resolve` with the arguments after the command name.
 * @returns the exit status
 * @throws UsageError for a bad command line (exit status 2)
 */
export async function runResolve(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(RESOLVE_FLAGS, argv);
  if (values.help === true) {
    io.out(`${resolveHelp()}\n`);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('resolve: give at least one DID or handle');
  const { options, transport: transportOptions, kind } = resolverOptions(values);

  let transport: Transport;
  let resolver: IdResolver;
  try {
    transport = makeTransport(kind, transportOptions);
  } catch (error) {
    if (error instanceof AtresolveError && error.code === 'INVALID_OPTIONS') throw new UsageError(error.message, { cause: error });
    throw error;
  }
  try {
    resolver = new IdResolver({ ...options, transport });
  } catch (error) {
    await transport.close();
    if (error instanceof AtresolveError && error.code === 'INVALID_OPTIONS') throw new UsageError(error.message, { cause: error });
    throw error;
  }

  let status: number = EXIT.ok;
  try {
    const results = await Promise.allSettled(positionals.map((input) => resolver.resolveIdentity(input)));
    results.forEach((result, i) => {
      const input = positionals[i] ?? '';
      if (result.status === 'fulfilled') {
        const json = identityJson(result.value);
        io.out(`${positionals.length === 1 ? JSON.stringify(json, null, 2) : JSON.stringify(json)}\n`);
        return;
      }
      const error = result.reason as unknown;
      const code = error instanceof AtresolveError ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      io.err(`atresolve: ${input}: ${message} [${code}]\n`);
      if (status === EXIT.ok) status = exitStatusOf(error);
    });
  } finally {
    await resolver.close();
    await transport.close();
  }
  return status;
}
