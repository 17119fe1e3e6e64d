import { InvalidOptionsError } from '../errors.js';

/**
 * Table-driven option validation. Every options interface in atresolve is
 * described by one `OptionSpec` table that holds each field's kind, range and
 * default; `resolveOptions()` validates the caller's object against it and
 * returns a fully-populated copy. One table per class means one place where a
 * check can be wrong, instead of forty copy-pasted checks. A class whose
 * options gather another's (the resolver's `cache` option, `RedisCache`)
 * spreads the fields of that class's table into its own, so a field's
 * default and range are written once.
 */

interface IntegerSpec {
  kind: 'integer';
  default: number;
  min: number;
  max: number;
}

interface BooleanSpec {
  kind: 'boolean';
  default: boolean;
}

interface StringSpec {
  kind: 'string';
  default: string;
  /** When set, the value must be one of these. */
  oneOf?: readonly string[];
}

interface OptionalStringSpec {
  kind: 'optional-string';
}

interface StringRecordSpec {
  kind: 'string-record';
}

interface StringListSpec {
  kind: 'string-list';
  default: readonly string[];
}

/** An `AbortSignal` (anything with `aborted` and `addEventListener`), or absent. */
interface SignalSpec {
  kind: 'signal';
}

/** Anything the table cannot describe; the caller validates it itself. */
interface OpaqueSpec {
  kind: 'opaque';
}

export type FieldSpec =
  | IntegerSpec
  | BooleanSpec
  | StringSpec
  | OptionalStringSpec
  | StringRecordSpec
  | StringListSpec
  | SignalSpec
  | OpaqueSpec;

export type OptionSpec = Readonly<Record<string, FieldSpec>>;

/** Milliseconds in a day; the upper bound for every `...Ms` option. */
export const DAY_MS = 86_400_000;

/** A large but finite ceiling for counts, so arithmetic stays exact. */
export const MAX_COUNT = 2 ** 31 - 1;

/**
 * The name of option `key` inside the options object named `prefix`, as the
 * caller wrote it: `cache.maxEntries` inside `new IdResolver({ cache })`,
 * plain `timeoutMs` at the top level (`prefix` empty).
 */
export function optionName(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

/**
 * Validate `input` against `spec` and fill in defaults.
 *
 * @param spec the table describing every accepted field
 * @param input the caller's options (may be `undefined`)
 * @param prefix dotted prefix used in error messages, e.g. `transport`;
 *   empty for the options object of the call itself (`IdResolver`)
 * @throws InvalidOptionsError naming the first offending option
 */
export function resolveOptions<T>(spec: OptionSpec, input: unknown, prefix: string): T {
  const source = ownOptions(spec, input, prefix);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec)) {
    out[key] = resolveField(prefix, key, field, source[key]);
  }
  return out as T;
}

/**
 * Validate the fields `input` sets against `spec`, without filling in
 * defaults: for per-call options, where an absent field means "the
 * instance's setting". Cheap enough for every call (only the fields present
 * are looked at).
 *
 * @throws InvalidOptionsError naming the first offending option
 */
export function checkOptions(spec: OptionSpec, input: unknown, prefix: string): void {
  const source = ownOptions(spec, input, prefix);
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value !== undefined) resolveField(prefix, key, spec[key] as FieldSpec, value);
  }
}

/** `input` as a record whose every key `spec` knows. */
function ownOptions(spec: OptionSpec, input: unknown, prefix: string): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidOptionsError(prefix === '' ? 'options' : prefix, 'expected an options object');
  }
  const source = input as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    if (!Object.hasOwn(spec, key)) throw new InvalidOptionsError(optionName(prefix, key), 'unknown option');
  }
  return source;
}

/**
 * Check (and default) one field. The option's name is only built for an
 * error: per-request options pass through here on every call.
 */
function resolveField(prefix: string, key: string, field: FieldSpec, value: unknown): unknown {
  switch (field.kind) {
    case 'integer': {
      if (value === undefined) return field.default;
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new InvalidOptionsError(optionName(prefix, key), `expected an integer, got ${describe(value)}`);
      }
      if (value < field.min || value > field.max) {
        throw new InvalidOptionsError(optionName(prefix, key), `must be between ${field.min} and ${field.max}, got ${value}`);
      }
      return value;
    }
    case 'boolean': {
      if (value === undefined) return field.default;
      if (typeof value !== 'boolean') {
        throw new InvalidOptionsError(optionName(prefix, key), `expected a boolean, got ${describe(value)}`);
      }
      return value;
    }
    case 'string': {
      if (value === undefined) return field.default;
      if (typeof value !== 'string') {
        throw new InvalidOptionsError(optionName(prefix, key), `expected a string, got ${describe(value)}`);
      }
      if (field.oneOf && !field.oneOf.includes(value)) {
        throw new InvalidOptionsError(optionName(prefix, key), `must be one of ${field.oneOf.map((v) => `'${v}'`).join(', ')}, got '${value}'`);
      }
      return value;
    }
    case 'optional-string': {
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidOptionsError(optionName(prefix, key), `expected a non-empty string, got ${describe(value)}`);
      }
      return value;
    }
    case 'string-record': {
      if (value === undefined) return {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InvalidOptionsError(optionName(prefix, key), `expected an object of strings, got ${describe(value)}`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') {
          throw new InvalidOptionsError(`${optionName(prefix, key)}.${k}`, `expected a string, got ${describe(v)}`);
        }
      }
      // A frozen record cannot change after this check: no copy needed.
      return Object.isFrozen(value) ? value : { ...(value as Record<string, string>) };
    }
    case 'string-list': {
      if (value === undefined) return [...field.default];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new InvalidOptionsError(optionName(prefix, key), `expected an array of strings, got ${describe(value)}`);
      }
      return [...value];
    }
    case 'signal': {
      if (value === undefined) return undefined;
      const signal = value as Partial<AbortSignal> | null;
      if (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
        throw new InvalidOptionsError(optionName(prefix, key), `expected an AbortSignal, got ${describe(value)}`);
      }
      return value;
    }
    case 'opaque':
      return value;
  }
}

/**
 * The `now` option every cache option set has: a clock in ms since the
 * epoch, `Date.now` by default (tests inject a fake one).
 * @throws InvalidOptionsError when it is not a function
 */
export function checkClock(value: unknown, prefix: string): () => number {
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') {
    throw new InvalidOptionsError(optionName(prefix, 'now'), 'expected a function returning ms since the epoch');
  }
  return value as () => number;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return `a ${typeof value}`;
}
