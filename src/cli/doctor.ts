/**
 * `atresolve doctor`: what atresolve can use on this machine, and why not
 * where it cannot. Prints a short report (or JSON with `--json`) of the
 * transport `createTransport()` would pick and why, libcurl's version and
 * TLS library, the C library, whether malloc figures are available, and
 * which optional peers are installed. With `--require-native` it exits
 * with `DOCTOR_EXIT.notNative` when the native transport would not be used,
 * so a Docker build or a health check can gate on it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { memory } from '../telemetry/memory.js';
import { curveCheckKind } from '../document/curve-check.js';
import { transportInfo, type TransportInfo } from '../transport/create.js';
import { flagHelp, parseFlags, type FlagTable } from './args.js';
import { packageVersion } from './version.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** Exit statuses of `atresolve doctor`. */
export const DOCTOR_EXIT = {
  /** The report was printed (and, with `--require-native`, the native transport would be used). */
  ok: 0,
  /** `--require-native` was given and `createTransport()` would not use the native transport. */
  notNative: 1,
  /** A usage error. */
  usage: 2,
} as const;

const FLAGS: FlagTable = {
  json: { type: 'boolean', help: 'print the report as one JSON object' },
  'require-native': { type: 'boolean', help: `exit ${DOCTOR_EXIT.notNative} unless createTransport() would use the native libcurl transport` },
};

/** `atresolve doctor --help`. */
export function doctorHelp(): string {
  return `Usage: atresolve doctor [--json] [--require-native]

Say what atresolve can use on this machine: the transport createTransport()
would pick and why, libcurl and its TLS library, the C library, malloc
figures, and the optional peers (prom-client, redis, echarts).

${flagHelp(FLAGS)}

Exit status: 0 ok, ${DOCTOR_EXIT.notNative} native transport unavailable with --require-native, 2 usage error.`;
}

/** An optional peer dependency: whether it resolves from atresolve's own location, and what it enables. */
export interface PeerReport {
  present: boolean;
  version: string | undefined;
  enables: string;
}

/** What `atresolve doctor --json` prints. */
export interface DoctorReport {
  atresolve: { version: string };
  node: { version: string; platform: string; arch: string };
  /** `glibc` with its version, `musl`, or another C library without a version. */
  libc: { family: 'glibc' | 'musl' | 'other'; version: string | undefined };
  transport: {
    /** The transport `createTransport()` picks. */
    kind: TransportInfo['kind'];
    /** Why, in one sentence. */
    reason: string;
    /** `ATRESOLVE_TRANSPORT`, when it forces one. */
    forced: TransportInfo['forced'];
    /** Whether `createTransport()` would use the native libcurl transport. */
    native: boolean;
    /** Why the native addon does not load, when it does not. */
    nativeReason: string | undefined;
    addonPath: string | undefined;
    curlVersion: string | undefined;
    /** The TLS library libcurl runs on. */
    tlsLibrary: string | undefined;
    /** The libcurl shared library the process mapped, from `/proc/self/maps`. */
    curlLibrary: string | undefined;
  };
  memory: { mallocFigures: boolean; reason: string | undefined };
  /** Which curve check verification keys get: the addon's (GMP) or node:crypto's. */
  curveCheck: ReturnType<typeof curveCheckKind>;
  peers: Record<'prom-client' | 'redis' | 'echarts', PeerReport>;
}

const PEERS = {
  'prom-client': 'registerMetrics() (Prometheus metrics)',
  redis: "RedisCache from 'atresolve/redis' (a fleet-wide cache)",
  echarts: "memory.svg charts of 'atresolve soak'",
} as const;

/** Gather the report. Loads the native addon (as `createTransport()` would) but creates no transport. */
export function doctorReport(): DoctorReport {
  const info = transportInfo();
  const snapshot = memory.snapshot();
  return {
    atresolve: { version: packageVersion() },
    node: { version: process.version, platform: process.platform, arch: process.arch },
    libc: libcReport(),
    transport: {
      kind: info.kind,
      reason: info.reason,
      forced: info.forced,
      native: info.kind === 'curl' && info.nativeAvailable,
      nativeReason: info.nativeReason,
      addonPath: info.nativePath,
      curlVersion: info.curlVersion,
      tlsLibrary: info.curlSslVersion,
      curlLibrary: info.nativeAvailable ? mappedLibrary(/\/libcurl[^/]*\.so[.\d]*$/) : undefined,
    },
    memory: { mallocFigures: snapshot.available, reason: snapshot.reason },
    curveCheck: curveCheckKind(),
    peers: {
      'prom-client': peerReport('prom-client', PEERS['prom-client']),
      redis: peerReport('redis', PEERS.redis),
      echarts: peerReport('echarts', PEERS.echarts),
    },
  };
}

function libcReport(): DoctorReport['libc'] {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return { family: 'glibc', version: header.glibcVersionRuntime };
  if (process.platform === 'linux' && (existsSync('/etc/alpine-release') || mappedLibrary(/\/ld-musl-[^/]+\.so/) !== undefined)) {
    return { family: 'musl', version: undefined };
  }
  return { family: 'other', version: undefined };
}

/** The first file mapped into this process whose path matches `pattern` (Linux `/proc/self/maps`). */
function mappedLibrary(pattern: RegExp): string | undefined {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    for (const line of maps.split('\n')) {
      const path = line.slice(line.indexOf('/'));
      if (line.includes('/') && pattern.test(path)) return path;
    }
  } catch {
    // Not Linux: nothing to read.
  }
  return undefined;
}

/** Whether `name` resolves from atresolve's own location (as atresolve's imports of it would), and its version. */
function peerReport(name: string, enables: string): PeerReport {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return { present: false, version: undefined, enables };
  }
  // Walk up from the entry point to the package's own package.json (its exports may hide it).
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (json.name === name) return { present: true, version: typeof json.version === 'string' ? json.version : undefined, enables };
    } catch {
      // An unreadable package.json on the way up: keep walking.
    }
  }
  return { present: true, version: undefined, enables };
}

/** The report as aligned text lines. */
export function formatDoctorReport(r: DoctorReport): string {
  const t = r.transport;
  const rows: [string, string][] = [
    ['atresolve', `${r.atresolve.version} on Node ${r.node.version} (${r.node.platform}-${r.node.arch})`],
    ['C library', r.libc.version ? `${r.libc.family} ${r.libc.version}` : r.libc.family],
    ['transport', `${t.kind}${t.native ? ' (native libcurl)' : ''}: ${t.reason}`],
  ];
  // Forced to undici: the reason names the variable, so say separately whether the addon loads.
  if (t.forced === 'undici' && t.nativeReason) rows.push(['native addon', `unavailable: ${t.nativeReason}`]);
  if (t.curlVersion) rows.push(['libcurl', `${t.curlVersion}${t.curlLibrary ? ` (${t.curlLibrary})` : ''}`]);
  if (t.tlsLibrary) rows.push(['TLS library', t.tlsLibrary]);
  rows.push([
    'curve check',
    r.curveCheck === 'native' ? 'native (GMP, libgmp.so.10), ~2 µs a key' : "node:crypto, ~28 µs a key (no native addon, or no libgmp.so.10)",
  ]);
  rows.push(['malloc figures', r.memory.mallocFigures ? 'available (glibc mallinfo2)' : `unavailable: ${r.memory.reason ?? 'unknown'}`]);
  for (const [name, peer] of Object.entries(r.peers)) {
    rows.push([name, peer.present ? `${peer.version ?? 'present'}: ${peer.enables}` : `not installed (npm i ${name} for ${peer.enables})`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

/**
 * Run `atresolve doctor` with `argv` (the arguments after `doctor`).
 * @returns the exit status (`DOCTOR_EXIT`)
 * @throws UsageError for an unknown flag or a stray argument
 */
export async function runDoctor(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(FLAGS, argv);
  if (values['help'] === true) {
    io.out(`${doctorHelp()}\n`);
    return DOCTOR_EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`doctor takes no arguments, got '${positionals[0]}'`);
  const report = doctorReport();
  io.out(values['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
  if (values['require-native'] === true && !report.transport.native) {
    io.err(`atresolve doctor: the native transport is not available: ${report.transport.reason}\n`);
    return DOCTOR_EXIT.notNative;
  }
  return DOCTOR_EXIT.ok;
}
