import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/**
 * Command-line flags: one table per command drives both parsing
 * (`node:util` `parseArgs`, strict) and the `--help` text, so a flag cannot
 * exist without being documented. Value parsers (`parseDuration`,
 * `parseCount`, `parseMix`, `parseChoice`) turn text into numbers and throw
 * `UsageError` naming the flag.
 */

/** One flag of a command. */
export interface FlagSpec {
  /** `'boolean'` for a switch, `'string'` for a flag that takes a value. */
  type: 'string' | 'boolean';
  /** The flag may be given several times (values are collected in order). */
  multiple?: boolean;
  /** Placeholder for the value in `--help`, e.g. `DURATION`. */
  value?: string;
  /** The default as shown in `--help` (the command applies it). */
  defaultText?: string;
  /** One line of help. */
  help: string;
}

/** A command's flags by long name (without the leading `--`). */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What `parseFlags()` returns: raw values by flag name, and the positional arguments. */
export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parse `argv` against `table` (strict: unknown flags, a missing value or a
 * value given to a switch are usage errors). `--help`/`-h` is always
 * accepted and reported as `values.help`.
 * @throws UsageError with a message naming the flag
 */
export function parseFlags(table: FlagTable, argv: readonly string[]): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(table)) {
    options[name] = spec.multiple ? { type: spec.type, multiple: true } : { type: spec.type };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as ParsedFlags['values'], positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error), { cause: error });
  }
}

/** `parseArgs` messages are long and mention internals; keep the first sentence. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown flag ${unknown[1]}`;
  const needsValue = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (needsValue) return `${needsValue[1]} needs a value`;
  const noValue = /Option '(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) return `${noValue[1]} does not take a value`;
  return message.split('. ')[0] ?? message;
}

/** The `--help` lines of a flag table, aligned. */
export function flagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const left = `  --${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    const right = spec.defaultText === undefined ? spec.help : `${spec.help} (default: ${spec.defaultText})`;
    return [left, right] as const;
  });
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}

/** A string flag's value, or `undefined` when absent. */
export function stringFlag(values: ParsedFlags['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string flag's values (empty when absent). */
export function listFlag(values: ParsedFlags['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration such as `500ms`, `30s`, `5m`, `1h` or `1m30s`; a bare number
 * is seconds. Returns milliseconds.
 * @throws UsageError when malformed or outside `[minMs, maxMs]`
 */
export function parseDuration(flag: string, text: string, minMs: number, maxMs: number): number {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1_000;
  } else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
      throw new UsageError(`${flag}: expected a duration like 30s, 5m or 500ms, got '${text}'`, { flag });
    }
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * (DURATION_UNITS[p[2] ?? 's'] ?? 1_000), 0);
  }
  ms = Math.round(ms);
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new UsageError(`${flag}: must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got '${text}'`, { flag });
  }
  return ms;
}

/** `ms` as a short duration: `500ms`, `30s`, `5m`, `1h`, `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms % 1_000 !== 0) return `${(ms / 1_000).toFixed(1)}s`;
  const s = ms / 1_000;
  if (s < 60) return `${s}s`;
  if (s % 3_600 === 0) return `${s / 3_600}h`;
  return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/**
 * A whole number in `[min, max]`; `_` and `k` are accepted (`20_000`, `20k`).
 * @throws UsageError when malformed or out of range
 */
export function parseCount(flag: string, text: string, min: number, max: number): number {
  const match = /^(\d[\d_]*)(k?)$/i.exec(text.trim());
  const value = match ? Number((match[1] ?? '').replaceAll('_', '')) * (match[2] ? 1_000 : 1) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${flag}: expected a whole number, got '${text}'`, { flag });
  }
  if (value < min || value > max) {
    throw new UsageError(`${flag}: must be between ${min} and ${max}, got ${value}`, { flag });
  }
  return value;
}

/**
 * A decimal number in `[min, max]`, such as `0.95`, `1` or `2.5`; a
 * trailing `unit` (e.g. `%`) is accepted and ignored.
 * @throws UsageError when malformed or out of range
 */
export function parseDecimal(flag: string, text: string, min: number, max: number, unit = ''): number {
  const trimmed = text.trim();
  const bare = unit !== '' && trimmed.endsWith(unit) ? trimmed.slice(0, -unit.length).trim() : trimmed;
  const value = /^\d+(\.\d+)?$|^\.\d+$/.test(bare) ? Number(bare) : Number.NaN;
  if (Number.isNaN(value)) throw new UsageError(`${flag}: expected a number${unit ? ` (optionally with ${unit})` : ''}, got '${text}'`, { flag });
  if (value < min || value > max) throw new UsageError(`${flag}: must be between ${min} and ${max}, got ${value}`, { flag });
  return value;
}

/**
 * One of `choices`.
 * @throws UsageError naming the choices
 */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag}: expected one of ${choices.join(', ')}, got '${text}'`, { flag });
}

/**
 * A weighted mix such as `plc=50,web=40,handle=10` over `kinds`; weights are
 * non-negative integers with a positive sum (they need not add up to 100).
 * Kinds left out weigh 0.
 * @throws UsageError for an unknown kind, a repeated kind or a bad weight
 */
export function parseMix<K extends string>(flag: string, text: string, kinds: readonly K[]): Record<K, number> {
  const mix = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<K, number>;
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match) throw new UsageError(`${flag}: expected kind=weight pairs like plc=50,web=40,handle=10, got '${text}'`, { flag });
    const kind = match[1] ?? '';
    if (!(kinds as readonly string[]).includes(kind)) {
      throw new UsageError(`${flag}: unknown kind '${kind}' (kinds: ${kinds.join(', ')})`, { flag });
    }
    if (seen.has(kind)) throw new UsageError(`${flag}: '${kind}' given twice`, { flag });
    seen.add(kind);
    mix[kind as K] = Number(match[2]);
  }
  if (kinds.every((k) => mix[k] === 0)) throw new UsageError(`${flag}: the weights add up to 0`, { flag });
  return mix;
}
