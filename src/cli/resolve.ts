import { parseNameserver } from '../dns/nameservers.js';
import { AtresolveError, InvalidOptionsError } from '../errors.js';
import { failureKindOf, type FailureKind } from '../resolve/failure-kind.js';
import { HANDLE_STRATEGIES, type HandleStrategy } from '../resolve/handle-strategy.js';
import { IdResolver, type Identity } from '../resolve/id-resolver.js';
import type { IdResolverOptions } from '../resolve/options.js';
import { createTransport, transportInfo } from '../transport/create.js';
import { CurlTransport } from '../transport/curl.js';
import { TimeoutError } from '../transport/errors.js';
import type { TransportOptions } from '../transport/options.js';
import type { Transport } from '../transport/types.js';
import { UndiciTransport } from '../transport/undici.js';
import { flagHelp, formatDuration, listFlag, parseChoice, parseDuration, parseFlags, stringFlag, type FlagTable } from './args.js';
import { causeChain, chainLabel, describeChain, type CauseLink } from './causes.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { formatStep, ResolveTracer, stepFailed, type InputTrace, type TraceStep } from './resolve-trace.js';

/**
 * `atresolve resolve <did|handle>…`: resolve each input to a verified
 * identity (`IdResolver.resolveIdentity()`, caching off) and print it as
 * JSON. A failure is explained down its cause chain, with the steps that
 * failed or were cut off by `--timeout` (from the trace channels);
 * `--verbose` shows every step as it happens. Exit statuses tell the kind
 * of failure apart (see `EXIT`).
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
  timeout: {
    type: 'string',
    value: 'DURATION',
    defaultText: '5s',
    help: "time limit of each input's whole resolution, DNS included (each HTTP fetch also stops at 3s)",
  },
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
  verbose: { type: 'boolean', help: 'show the transport and each step on stderr: every fetch with its timing and connection reuse, every DNS answer' },
  json: { type: 'boolean', help: 'print one JSON line per input on stdout, in input order: the identity, or {"input", "error"}' },
};

/** The default of `--timeout`: a few slow steps (DNS, a TLS handshake, a document) with room to spare. */
const DEFAULT_TIMEOUT_MS = 5_000;
/** Each HTTP fetch's own limit (the resolver's default), unless `--timeout` is shorter. */
const FETCH_TIMEOUT_MS = 3_000;
/** After `--timeout`, how long the cancelled resolution is given to say what it was doing (its rejection, its cancelled steps). */
const CANCEL_GRACE_MS = 100;

/** The `--help` text of `atresolve resolve`. */
export function resolveHelp(): string {
  return `Usage: atresolve resolve [flags] <did|handle>...

Resolve each DID or handle to a verified identity (the handle must resolve to
the DID and the DID's document must declare the handle; otherwise handle is
"handle.invalid") and print it as JSON: pretty for one input, one line per
input for several. Failures go to stderr with their causes, e.g.
  atresolve: did:plc:…: resolving did:plc:… failed: fetching
  https://plc.directory failed: <what the transport saw> [RESOLUTION_FAILED/CONNECT]
and, with --json, to stdout as {"input", "error": {code, kind, exitStatus,
message, causes}}. Caching is off. Inputs resolve concurrently, each within
--timeout.

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

/** The exit status of each kind of failure. */
const EXIT_OF_FAILURE: Record<FailureKind, number> = {
  invalid_input: EXIT.invalidInput,
  not_found: EXIT.notFound,
  bad_answer: EXIT.badAnswer,
  timeout: EXIT.network,
  unavailable: EXIT.network,
  unexpected: EXIT.internal,
};

/** The exit status for an error thrown by `resolveIdentity()` (see `failureKindOf`). */
export function exitStatusOf(error: unknown): number {
  return EXIT_OF_FAILURE[failureKindOf(error)];
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

/** What the `resolve` flags describe (resolver options validated by `IdResolver` itself). */
interface ResolveSettings {
  options: IdResolverOptions;
  transport: TransportOptions;
  kind: string | undefined;
  /** The whole resolution's limit per input, ms. */
  timeoutMs: number;
  verbose: boolean;
  json: boolean;
}

function resolveSettings(values: ReturnType<typeof parseFlags>['values']): ResolveSettings {
  const transport: TransportOptions = {};
  const caFile = stringFlag(values, 'ca-file');
  if (caFile !== undefined) transport.caFile = caFile;
  const connectTo = listFlag(values, 'connect-to');
  if (connectTo.length > 0) transport.connectTo = Object.fromEntries(connectTo.map(parseConnectTo));
  if (values['allow-private-network'] === true) transport.allowPrivateNetwork = true;
  const timeoutText = stringFlag(values, 'timeout');
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : parseDuration('--timeout', timeoutText, 1, 600_000);
  const options: IdResolverOptions = {
    cache: false,
    allowTestTlds: values['allow-test-tlds'] === true,
    timeoutMs: Math.min(FETCH_TIMEOUT_MS, timeoutMs),
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
  return { options, transport, kind, timeoutMs, verbose: values.verbose === true, json: values.json === true };
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

/** The `--json` object of a failed input. */
export interface ResolveErrorJson {
  input: string;
  error: {
    /** The codes down the cause chain, e.g. `RESOLUTION_FAILED/DNS`. */
    code: string;
    /** The failure's kind (`failureKindOf`). */
    kind: FailureKind;
    /** The exit status this failure gives. */
    exitStatus: number;
    /** The whole explanation, as printed on stderr without `--json`. */
    message: string;
    /** The error and its causes, outermost first. */
    causes: CauseLink[];
    /** The steps that failed or were cut off, as lines (see `--verbose`). */
    failedSteps: string[];
  };
}

/**
 * How a failed input is explained: the cause chain, then the steps of its
 * trace that failed or were cut off and that the chain does not already
 * tell (after a timeout: what was still running).
 */
function explain(input: string, error: unknown, trace: InputTrace): ResolveErrorJson {
  const chain = causeChain(error);
  const told = chain.map((link) => link.message).join('\n');
  // A failed fetch the chain already names (its origin and its error) adds nothing.
  const alreadyTold = (step: TraceStep): boolean =>
    step.channel === 'fetch' && step.event.errorMessage !== undefined && told.includes(step.event.errorMessage) && told.includes(new URL(step.event.url).origin);
  const failedSteps = trace.steps.filter((step) => stepFailed(step) && !alreadyTold(step)).map(formatStep);
  const steps = failedSteps.length === 0 ? '' : `; ${failedSteps.length === 1 ? 'failed step' : 'failed steps'}: ${failedSteps.join('; ')}`;
  return {
    input,
    error: {
      code: chainLabel(chain),
      kind: failureKindOf(error),
      exitStatus: exitStatusOf(error),
      message: `${describeChain(chain)}${steps}`,
      causes: chain,
      failedSteps,
    },
  };
}

/**
 * `resolver.resolveIdentity(input)` within `timeoutMs`, DNS included: an
 * `AbortSignal` cancels the resolution at the deadline, and the wait ends
 * then even if a step does not honour it. After the deadline the
 * resolution gets `CANCEL_GRACE_MS` to report what it was doing (its
 * rejection becomes the cause, its cancelled steps show in the trace).
 * @throws TimeoutError (phase `total`) when the deadline passed
 */
async function resolveWithin(resolver: IdResolver, input: string, timeoutMs: number): Promise<Identity> {
  const signal = AbortSignal.timeout(timeoutMs);
  const resolution = resolver.resolveIdentity(input, { signal });
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([resolution, deadline]);
  } catch (error) {
    if (!signal.aborted) throw error;
    // The whole grace period: the transport publishes a cancelled hop when its engine lets go
    // of it, which may come after the resolution itself has rejected.
    let cancelled: unknown;
    resolution.catch((reason: unknown) => {
      cancelled = reason;
    });
    await new Promise((resolve) => setTimeout(resolve, CANCEL_GRACE_MS));
    // Our own cancel echoed back (the signal's reason, or an AbortError caused by it) says nothing
    // the message does not; the trace names the step it cut off.
    const echo = cancelled === signal.reason || (cancelled as { cause?: unknown } | undefined)?.cause === signal.reason;
    const cause = echo ? undefined : cancelled;
    throw new TimeoutError(`no answer within ${formatDuration(timeoutMs)} (--timeout)`, { phase: 'total', timeoutMs, cause });
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // The resolution may still reject later (after the deadline): that is not a crash.
    resolution.catch(() => undefined);
  }
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
  const settings = resolveSettings(values);

  let transport: Transport;
  let resolver: IdResolver;
  try {
    transport = makeTransport(settings.kind, settings.transport);
  } catch (error) {
    if (error instanceof AtresolveError && error.code === 'INVALID_OPTIONS') throw new UsageError(error.message, { cause: error });
    throw error;
  }
  try {
    resolver = new IdResolver({ ...settings.options, transport });
  } catch (error) {
    await transport.close();
    if (error instanceof AtresolveError && error.code === 'INVALID_OPTIONS') throw new UsageError(error.message, { cause: error });
    throw error;
  }

  const several = positionals.length > 1;
  const tracer = new ResolveTracer(settings.verbose ? (input, line) => io.err(`${several ? `[${input}] ` : ''}${line}\n`) : undefined);
  if (settings.verbose) {
    const info = transportInfo();
    io.err(`transport ${transport.kind}${transport.kind === info.kind ? ` (${info.reason})` : ''}; --timeout ${formatDuration(settings.timeoutMs)} per input\n`);
  }
  let status: number = EXIT.ok;
  tracer.start();
  try {
    const results = await Promise.all(
      positionals.map((input) =>
        tracer.run(input, async (trace) => {
          const startedAt = performance.now();
          try {
            const identity = await resolveWithin(resolver, input, settings.timeoutMs);
            if (settings.verbose) io.err(`${several ? `[${input}] ` : ''}resolved in ${Math.round(performance.now() - startedAt)} ms\n`);
            return { ok: true as const, identity };
          } catch (error) {
            if (settings.verbose) io.err(`${several ? `[${input}] ` : ''}failed after ${Math.round(performance.now() - startedAt)} ms\n`);
            return { ok: false as const, failure: explain(input, error, trace) };
          }
        }),
      ),
    );
    for (const result of results) {
      if (result.ok) {
        const json = identityJson(result.identity);
        io.out(`${several || settings.json ? JSON.stringify(json) : JSON.stringify(json, null, 2)}\n`);
        continue;
      }
      const { input, error } = result.failure;
      if (settings.json) io.out(`${JSON.stringify(result.failure)}\n`);
      else io.err(`atresolve: ${input}: ${error.message} [${error.code}]\n`);
      if (status === EXIT.ok) status = error.exitStatus;
    }
  } finally {
    tracer.stop();
    await resolver.close();
    await transport.close();
  }
  return status;
}
