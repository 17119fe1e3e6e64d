import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { InvalidOptionsError } from '../errors.js';
import { HANDLE_STRATEGIES, type HandleStrategy } from '../resolve/handle-strategy.js';
import { MAX_COUNT } from '../util/options.js';
import { FAULT_NAMES, resolveFaults, type FaultMix, type FaultName } from '../world/faults.js';
import {
  flagHelp,
  formatDuration,
  parseChoice,
  parseCount,
  parseDecimal,
  parseDuration,
  parseFlags,
  parseMix,
  stringFlag,
  type FlagTable,
} from './args.js';
import type { ContenderId } from './contender.js';
import { UsageError } from './errors.js';
import { LOAD_KINDS, SOAK_WEB_PERCENT, type LoadMix } from './load-plan.js';
import { DEFAULT_CRITERIA, type SoakCriteria } from './verdict.js';

/** Everything `atresolve soak` runs with, defaults filled in. */
export interface SoakConfig {
  /** Length of the measured run (per contender), ms. */
  durationMs: number;
  /** Length of the warm-up ramp before it, ms (0: none). */
  warmupMs: number;
  /** Resolutions per second: the first (and the warm-up's target) of `rates`. */
  rate: number;
  /** The rate of each step of the run, each for an equal part of it (one step: `[rate]`). */
  rates: readonly number[];
  hosts: number;
  mix: LoadMix;
  /** The contenders, in run order: one transport, or all three with `--compare`. */
  contenders: ContenderId[];
  compare: boolean;
  /** With `compare`: the Node binary the peer's load runner runs on (`--peer-node`), or `undefined` for this one. */
  peerNode: string | undefined;
  recycleAfter: number;
  outDir: string;
  cache: boolean;
  maxInFlight: number;
  timeoutMs: number;
  handleStrategy: HandleStrategy;
  slopeWindowMs: number;
  /** What a contender's run must show to pass. */
  criteria: SoakCriteria;
  /** Faults the world injects into every kind of answer (percent each), or `null` for none. */
  faults: FaultMix | null;
  /** How often report.json and memory.svg are rewritten while the run goes on, ms. */
  flushEveryMs: number;
}

/** Default `--mix`. */
export const DEFAULT_MIX = 'plc=50,web=40,handle=10';

/** Flags of `atresolve soak`. */
export const SOAK_FLAGS: FlagTable = {
  duration: { type: 'string', value: 'DURATION', defaultText: '60s', help: 'how long the measured load runs (per contender), whole seconds: 30s, 5m, 24h' },
  warmup: {
    type: 'string',
    value: 'DURATION',
    defaultText: '5s',
    help: 'a ramp from 0 to --rate before the measured run; charted, not judged; 0 for none',
  },
  rate: {
    type: 'string',
    value: 'N[,N…]',
    defaultText: '1000',
    help: 'resolutions per second offered, open-loop; a list (1000,3000,1000) runs each rate for an equal part of --duration',
  },
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
  'peer-node': {
    type: 'string',
    value: 'PATH',
    defaultText: 'this Node',
    help: 'with --compare: the Node binary the @atproto/identity run uses (its newest version, 0.5, needs Node >= 22)',
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
  'max-growth': {
    type: 'string',
    value: 'KIB/S',
    defaultText: String(DEFAULT_CRITERIA.maxGrowthBytesPerSecond / 1_024),
    help: 'fail (exit bit 8) when malloc grows faster over the last half of the run',
  },
  'max-error-rate': {
    type: 'string',
    value: 'PERCENT',
    defaultText: String(DEFAULT_CRITERIA.maxErrorRate * 100),
    help: 'fail (exit bit 16) when more of the offered resolutions fail',
  },
  'min-achieved': {
    type: 'string',
    value: 'FRACTION',
    defaultText: String(DEFAULT_CRITERIA.minAchievedFraction),
    help: 'fail (exit bit 32) when a smaller fraction of the offered resolutions succeeds',
  },
  faults: {
    type: 'string',
    value: 'NAME=P,...',
    defaultText: 'none',
    help: `make the world answer P% of requests with each fault (${FAULT_NAMES.join(', ')})`,
  },
  'flush-every': {
    type: 'string',
    value: 'DURATION',
    defaultText: '60s',
    help: 'rewrite report.json and memory.svg this often during the run',
  },
};

/** The `--help` text of `atresolve soak`. */
export function soakHelp(): string {
  return `Usage: atresolve soak [flags]

Start a local world (PLC directory, did:web hosts, handle hosts, DNS; in its
own process, on loopback, with a throw-away CA), then resolve against it in
a load-runner child process whose memory is measured: open-loop, ramping up
to --rate per second over --warmup, then at --rate for --duration. A live
line shows progress. report.json and memory.svg (malloc in use, achieved vs
offered, errors by class, latency, sockets and RSS over time) are written to
--out every --flush-every and at the end, with one verdict line per
contender: malloc growth over the last half of the run, the error rate and
the achieved rate, each against its limit.

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
whole run takes three times as long). The peer is @atproto/identity, a dev
dependency, in the newest version its Node runs: 0.5 on Node >= 22, 0.4 on
Node 20; --peer-node runs it on another Node binary (e.g. Node 24 while
atresolve runs on Node 20). The peer is reported, not judged.

Exit status:
  0    every contender ran and passed
  1    a contender could not run, or its load runner died
  2    usage error
  8    malloc grew faster than --max-growth      } added up when several
  16   more errors than --max-error-rate          } fail, e.g. 48 = errors
  32   less achieved than --min-achieved          } and achieved
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM): report.json and
       memory.svg cover what ran and say "interrupted"`;
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
  const warmupText = text('warmup');
  const warmupMs = warmupText === undefined ? 5_000 : parseDuration('--warmup', warmupText, 0, 600_000);
  if (warmupMs % 1_000 !== 0) throw new UsageError(`--warmup: must be whole seconds, got '${warmupText}'`, { flag: '--warmup' });
  const rateText = text('rate');
  const rates = rateText === undefined ? [1_000] : rateText.split(',').map((part) => parseCount('--rate', part.trim(), 1, 100_000));
  if (rates.length > 12) throw new UsageError(`--rate: at most 12 steps, got ${rates.length}`, { flag: '--rate' });
  if (durationMs % (1_000 * rates.length) !== 0) {
    throw new UsageError(`--rate: ${rates.length} steps need a --duration of a whole number of seconds per step`, { flag: '--rate' });
  }
  const rate = rates[0] as number;
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
  const peerNodeText = text('peer-node');
  if (peerNodeText !== undefined && !compare) throw new UsageError('--peer-node goes with --compare: it is the Node the @atproto/identity run uses', { flag: '--peer-node' });
  const peerNode = peerNodeText === undefined ? undefined : checkedNodeBinary('--peer-node', peerNodeText);
  if (transport === 'curl' && !options.nativeAvailable) {
    throw new UsageError('--transport curl: the native libcurl engine is unavailable on this machine (see transportInfo().reason); use --transport undici', { flag: '--transport' });
  }
  const recycleText = text('recycle-after');
  const recycleAfter = recycleText === undefined ? 0 : parseCount('--recycle-after', recycleText, 0, MAX_COUNT);
  const maxText = text('max-in-flight');
  const maxInFlight = maxText === undefined ? Math.max(100, Math.max(...rates) * 4) : parseCount('--max-in-flight', maxText, 1, 1_000_000);
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
  const growthText = text('max-growth');
  const errorRateText = text('max-error-rate');
  const achievedText = text('min-achieved');
  const criteria: SoakCriteria = {
    maxGrowthBytesPerSecond:
      growthText === undefined ? DEFAULT_CRITERIA.maxGrowthBytesPerSecond : Math.round(parseDecimal('--max-growth', growthText, 0, 1_048_576) * 1_024),
    maxErrorRate: errorRateText === undefined ? DEFAULT_CRITERIA.maxErrorRate : parseDecimal('--max-error-rate', errorRateText, 0, 100, '%') / 100,
    minAchievedFraction: achievedText === undefined ? DEFAULT_CRITERIA.minAchievedFraction : parseDecimal('--min-achieved', achievedText, 0, 1),
  };
  const faultsText = text('faults');
  const faults = faultsText === undefined || faultsText.trim() === 'none' ? null : parseFaults(faultsText);
  const flushText = text('flush-every');
  const flushEveryMs = flushText === undefined ? 60_000 : parseDuration('--flush-every', flushText, 1_000, 3_600_000);

  const contenders: ContenderId[] = compare
    ? options.nativeAvailable ? ['curl', 'undici', 'atproto'] : ['undici', 'atproto']
    : [transport ?? (options.nativeAvailable ? 'curl' : 'undici')];
  return {
    durationMs,
    warmupMs,
    rate,
    rates,
    hosts,
    mix,
    contenders,
    compare,
    peerNode,
    recycleAfter,
    outDir: outText ?? defaultOutDir(options.cwd, options.now ?? new Date()),
    cache: values.cache === true,
    maxInFlight,
    timeoutMs,
    handleStrategy,
    slopeWindowMs,
    criteria,
    faults,
    flushEveryMs,
  };
}

/**
 * The absolute path of a Node binary, after running it once with
 * `--version` (5 s at most) to be sure it is one.
 * @throws UsageError naming the flag when it is missing, not executable or not Node
 */
function checkedNodeBinary(flag: string, text: string): string {
  const path = resolve(text);
  let version: string;
  try {
    version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (error) {
    throw new UsageError(`${flag}: cannot run '${path}' (${(error as Error).message.split('\n')[0]})`, { flag, cause: error });
  }
  if (!/^v\d+\.\d+\.\d+/.test(version)) throw new UsageError(`${flag}: '${path} --version' printed '${version.slice(0, 80)}', not a Node version`, { flag });
  return path;
}

/**
 * `serverError=25,timeout=25` as a fault mix for every kind of answer,
 * validated as the world validates it.
 * @throws UsageError naming the flag
 */
function parseFaults(text: string): FaultMix {
  const mix: FaultMix = {};
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(part);
    if (!match) throw new UsageError(`--faults: expected fault=percent pairs like serverError=25,timeout=25, got '${text}'`, { flag: '--faults' });
    const name = match[1] ?? '';
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--faults: unknown fault '${name}' (faults: ${FAULT_NAMES.join(', ')})`, { flag: '--faults' });
    }
    mix[name as FaultName] = Number(match[2]);
  }
  const sum = Object.values(mix).reduce((a, b) => a + b, 0);
  if (sum > 100) throw new UsageError(`--faults: the percentages add up to ${sum}, more than 100`, { flag: '--faults' });
  try {
    resolveFaults({ all: mix });
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw new UsageError(`--faults: ${error.message}`, { flag: '--faults', cause: error });
    throw error;
  }
  return mix;
}

/** The configuration as shown in the report and at the start of a run. */
export function describeConfig(config: SoakConfig): string {
  const mix = LOAD_KINDS.map((k) => `${k}=${config.mix[k]}`).join(',');
  const faults = config.faults === null ? '' : `, world faults ${Object.entries(config.faults).map(([f, p]) => `${f}=${p}%`).join(',')}`;
  return (
    `${formatDuration(config.durationMs)} at ${config.rates.length === 1 ? `${config.rate}/s` : `${config.rates.join('/s, ')}/s in equal steps`}` +
    (config.warmupMs > 0 ? ` after a ${formatDuration(config.warmupMs)} warm-up` : '') +
    `, ${config.hosts} hosts, mix ${mix}, cache ${config.cache ? 'on' : 'off'}, handles ${config.handleStrategy}` +
    (config.recycleAfter > 0 ? `, recycle after ${config.recycleAfter}` : '') +
    (config.peerNode === undefined ? '' : `, peer on ${config.peerNode}`) +
    faults
  );
}
