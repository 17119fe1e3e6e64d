import { join } from 'node:path';
import { HANDLE_STRATEGIES, type HandleStrategy } from '../resolve/handle-strategy.js';
import { MAX_COUNT } from '../util/options.js';
import { flagHelp, formatDuration, parseChoice, parseCount, parseDuration, parseFlags, parseMix, stringFlag, type FlagTable } from './args.js';
import type { ContenderId } from './contender.js';
import { UsageError } from './errors.js';
import { LOAD_KINDS, SOAK_WEB_PERCENT, type LoadMix } from './load-plan.js';

/** Everything `atresolve soak` runs with, defaults filled in. */
export interface SoakConfig {
  durationMs: number;
  rate: number;
  hosts: number;
  mix: LoadMix;
  /** The contenders, in run order: one transport, or all three with `--compare`. */
  contenders: ContenderId[];
  compare: boolean;
  recycleAfter: number;
  outDir: string;
  cache: boolean;
  maxInFlight: number;
  timeoutMs: number;
  handleStrategy: HandleStrategy;
  slopeWindowMs: number;
}

/** Default `--mix`. */
export const DEFAULT_MIX = 'plc=50,web=40,handle=10';

/** Flags of `atresolve soak`. */
export const SOAK_FLAGS: FlagTable = {
  duration: { type: 'string', value: 'DURATION', defaultText: '60s', help: 'how long the load runs (per contender), whole seconds: 30s, 5m, 1h' },
  rate: { type: 'string', value: 'N', defaultText: '1000', help: 'resolutions per second offered, open-loop' },
  hosts: {
    type: 'string',
    value: 'N',
    defaultText: '20000',
    help: `identities in the world, each with its own handle host; ${SOAK_WEB_PERCENT}% are did:web, each on its own host`,
  },
  mix: { type: 'string', value: 'plc=P,web=W,handle=H', defaultText: DEFAULT_MIX, help: 'relative weights of the kinds of resolution' },
  transport: { type: 'string', value: 'curl|undici', defaultText: 'curl when the native addon loads', help: "atresolve's HTTP transport" },
  'recycle-after': { type: 'string', value: 'N', defaultText: '0 (off)', help: "reset atresolve's transport every N requests (recycleAfterRequests)" },
  out: { type: 'string', value: 'DIR', defaultText: '.soak/<date-time>', help: 'where report.json and memory.svg are written' },
  cache: { type: 'boolean', help: 'turn the resolution cache on (off by default: every resolution goes to the world)' },
  compare: {
    type: 'boolean',
    help: 'run the same load for atresolve (curl), atresolve (undici) and @atproto/identity, one after the other, and chart them together',
  },
  'max-in-flight': {
    type: 'string',
    value: 'N',
    defaultText: '4 × rate',
    help: 'resolutions outstanding at once; one due beyond it is not started and counts as an OVERFLOW error',
  },
  timeout: { type: 'string', value: 'DURATION', defaultText: '3s', help: 'time limit of each HTTP fetch' },
  'handle-strategy': {
    type: 'string',
    value: HANDLE_STRATEGIES.join('|'),
    defaultText: 'dns-first',
    help: "atresolve's handle lookup: DNS first, HTTPS well-known only without a DNS answer (as relays do)",
  },
  'slope-window': { type: 'string', value: 'DURATION', defaultText: 'min(60s, duration/2)', help: 'window of the live growth slope' },
};

/** The `--help` text of `atresolve soak`. */
export function soakHelp(): string {
  return `Usage: atresolve soak [flags]

Start a local world (PLC directory, did:web hosts, handle hosts, DNS; in its
own process, on loopback, with a throw-away CA), then resolve against it at
--rate per second, open-loop, for --duration, in a load-runner child process
whose memory is measured. A live line shows progress; at the end
report.json and memory.svg (malloc in use and RSS over time) are written to
--out and a verdict line gives the malloc growth over the last half of the
run.

One resolution, by kind (--mix):
  plc     atproto data of a did:plc (one GET to the PLC directory, kept alive)
  web     atproto data of a did:web, each on its own h<i>.web.test host
          (a new TLS connection, as a relay sees)
  handle  a handle resolved to a verified identity (DNS TXT, then the DID's
          document; the handle must match both ways)
Identities are visited with a large stride over all --hosts, so did:web and
handle hosts are mostly new connections. The cache is off unless --cache.

Flags:
${flagHelp(SOAK_FLAGS)}

With --compare each contender runs for --duration in its own process (so the
whole run takes three times as long); @atproto/identity is a dev dependency
(npm i -D @atproto/identity@0.4 on Node 20, the latest on Node >= 22).`;
}

/** `.soak/2026-11-27T03-04-05` under `cwd`. */
function defaultOutDir(cwd: string, now: Date): string {
  return join(cwd, '.soak', now.toISOString().slice(0, 19).replaceAll(':', '-'));
}

/**
 * Parse the arguments after `soak`.
 * @param nativeAvailable whether the curl transport can load (decides the default `--transport`)
 * @returns `'help'` for `--help`, else the configuration
 * @throws UsageError for any bad flag
 */
export function parseSoakArgs(argv: readonly string[], options: { nativeAvailable: boolean; cwd: string; now?: Date }): SoakConfig | 'help' {
  const { values, positionals } = parseFlags(SOAK_FLAGS, argv);
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`soak takes no arguments, got '${positionals[0]}'`);
  const text = (name: string): string | undefined => stringFlag(values, name);

  const durationText = text('duration');
  const durationMs = durationText === undefined ? 60_000 : parseDuration('--duration', durationText, 1_000, 7 * 86_400_000);
  if (durationMs % 1_000 !== 0) throw new UsageError(`--duration: must be whole seconds (one sample per second), got '${durationText}'`, { flag: '--duration' });
  const rateText = text('rate');
  const rate = rateText === undefined ? 1_000 : parseCount('--rate', rateText, 1, 100_000);
  const hostsText = text('hosts');
  const hosts = hostsText === undefined ? 20_000 : parseCount('--hosts', hostsText, 10, MAX_COUNT);
  const mix = parseMix('--mix', text('mix') ?? DEFAULT_MIX, LOAD_KINDS);
  for (const kind of LOAD_KINDS) {
    if (mix[kind] > 1_000) throw new UsageError(`--mix: weights are at most 1000, got ${kind}=${mix[kind]}`, { flag: '--mix' });
  }
  const transportText = text('transport');
  const transport = transportText === undefined ? undefined : parseChoice('--transport', transportText, ['curl', 'undici'] as const);
  const compare = values.compare === true;
  if (compare && transport !== undefined) throw new UsageError('--transport and --compare do not go together: --compare runs both transports', { flag: '--transport' });
  if (transport === 'curl' && !options.nativeAvailable) {
    throw new UsageError('--transport curl: the native libcurl engine is unavailable on this machine (see transportInfo().reason); use --transport undici', { flag: '--transport' });
  }
  const recycleText = text('recycle-after');
  const recycleAfter = recycleText === undefined ? 0 : parseCount('--recycle-after', recycleText, 0, MAX_COUNT);
  const maxText = text('max-in-flight');
  const maxInFlight = maxText === undefined ? Math.max(100, rate * 4) : parseCount('--max-in-flight', maxText, 1, 1_000_000);
  const timeoutText = text('timeout');
  const timeoutMs = timeoutText === undefined ? 3_000 : parseDuration('--timeout', timeoutText, 1, 600_000);
  const strategyText = text('handle-strategy');
  const handleStrategy = strategyText === undefined ? 'dns-first' : parseChoice('--handle-strategy', strategyText, HANDLE_STRATEGIES);
  const windowText = text('slope-window');
  const slopeWindowMs =
    windowText === undefined
      ? Math.max(2_000, Math.min(60_000, Math.floor(durationMs / 2_000) * 1_000))
      : parseDuration('--slope-window', windowText, 2_000, 86_400_000);
  const outText = text('out');
  if (outText !== undefined && outText.trim() === '') throw new UsageError('--out: give a directory', { flag: '--out' });

  const contenders: ContenderId[] = compare
    ? options.nativeAvailable ? ['curl', 'undici', 'atproto'] : ['undici', 'atproto']
    : [transport ?? (options.nativeAvailable ? 'curl' : 'undici')];
  return {
    durationMs,
    rate,
    hosts,
    mix,
    contenders,
    compare,
    recycleAfter,
    outDir: outText ?? defaultOutDir(options.cwd, options.now ?? new Date()),
    cache: values.cache === true,
    maxInFlight,
    timeoutMs,
    handleStrategy,
    slopeWindowMs,
  };
}

/** The configuration as shown in the report and at the start of a run. */
export function describeConfig(config: SoakConfig): string {
  const mix = LOAD_KINDS.map((k) => `${k}=${config.mix[k]}`).join(',');
  return (
    `${formatDuration(config.durationMs)} at ${config.rate}/s, ${config.hosts} hosts, mix ${mix}, ` +
    `cache ${config.cache ? 'on' : 'off'}, handles ${config.handleStrategy}` +
    (config.recycleAfter > 0 ? `, recycle after ${config.recycleAfter}` : '')
  );
}
