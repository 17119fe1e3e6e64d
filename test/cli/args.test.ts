import { describe, expect, it } from 'vitest';
import { flagHelp, formatDuration, parseChoice, parseCount, parseDecimal, parseDuration, parseFlags, parseMix } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';

describe('flag value parsers', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['45', 45_000],
    ['1.5s', 1_500],
  ])('parseDuration(%s) = %d ms', (text, ms) => {
    expect(parseDuration('--duration', text, 1, 86_400_000)).toBe(ms);
  });

  it.each(['', 's', '5 m', '5x', 'm5', '-1s', '1s2'])('parseDuration rejects %j, naming the flag', (text) => {
    expect(() => parseDuration('--duration', text, 1, 86_400_000)).toThrow(UsageError);
    expect(() => parseDuration('--duration', text, 1, 86_400_000)).toThrow(/^--duration: /);
  });

  it('parseDuration enforces its range', () => {
    expect(() => parseDuration('--timeout', '2h', 1, 600_000)).toThrow(/--timeout: must be between 1ms and 10m/);
  });

  it('formatDuration is the inverse for whole units', () => {
    expect([500, 30_000, 90_000, 300_000, 3_600_000].map(formatDuration)).toEqual(['500ms', '30s', '1m30s', '5m', '1h']);
  });

  it('parseCount takes digits, underscores and k', () => {
    expect(parseCount('--hosts', '20000', 1, 1e6)).toBe(20_000);
    expect(parseCount('--hosts', '20_000', 1, 1e6)).toBe(20_000);
    expect(parseCount('--hosts', '20k', 1, 1e6)).toBe(20_000);
    expect(() => parseCount('--hosts', '2e4', 1, 1e6)).toThrow(/--hosts: expected a whole number/);
    expect(() => parseCount('--hosts', '-5', 1, 1e6)).toThrow(/--hosts: expected a whole number/);
    expect(() => parseCount('--hosts', '2000000', 1, 1e6)).toThrow(/--hosts: must be between 1 and 1000000/);
  });

  it('parseMix fills left-out kinds with 0 and rejects mistakes', () => {
    const kinds = ['plc', 'web', 'handle'] as const;
    expect(parseMix('--mix', 'plc=50, web=40,handle=10', kinds)).toEqual({ plc: 50, web: 40, handle: 10 });
    expect(parseMix('--mix', 'web=1', kinds)).toEqual({ plc: 0, web: 1, handle: 0 });
    expect(() => parseMix('--mix', 'web=-1', kinds)).toThrow(/expected kind=weight pairs/);
    expect(() => parseMix('--mix', 'web=1,,', kinds)).toThrow(/expected kind=weight pairs/);
  });

  it('parseDecimal takes plain decimals, and its unit when given one', () => {
    expect(parseDecimal('--min-achieved', '0.95', 0, 1)).toBe(0.95);
    expect(parseDecimal('--min-achieved', '.5', 0, 1)).toBe(0.5);
    expect(parseDecimal('--max-error-rate', '2.5%', 0, 100, '%')).toBe(2.5);
    expect(parseDecimal('--max-error-rate', '1', 0, 100, '%')).toBe(1);
    expect(() => parseDecimal('--min-achieved', '95%', 0, 1)).toThrow(/--min-achieved: expected a number, got '95%'/);
    expect(() => parseDecimal('--min-achieved', '1e-2', 0, 1)).toThrow(/expected a number/);
    expect(() => parseDecimal('--min-achieved', '-0.1', 0, 1)).toThrow(/expected a number/);
    expect(() => parseDecimal('--min-achieved', '2', 0, 1)).toThrow(/--min-achieved: must be between 0 and 1, got 2/);
  });

  it('parseChoice names the choices', () => {
    expect(parseChoice('--transport', 'curl', ['curl', 'undici'])).toBe('curl');
    expect(() => parseChoice('--transport', 'CURL', ['curl', 'undici'])).toThrow("--transport: expected one of curl, undici, got 'CURL'");
  });
});

describe('parseFlags and flagHelp', () => {
  const table = {
    rate: { type: 'string', value: 'N', defaultText: '1000', help: 'resolutions per second' },
    cache: { type: 'boolean', help: 'turn the cache on' },
    'dns-server': { type: 'string', multiple: true, help: 'a DNS server' },
  } as const;

  it('collects values, switches, repeated flags and positionals', () => {
    const parsed = parseFlags(table, ['--rate', '5', '--cache', '--dns-server', 'a', '--dns-server=b', 'x']);
    expect(parsed.values).toMatchObject({ rate: '5', cache: true, 'dns-server': ['a', 'b'] });
    expect(parsed.positionals).toEqual(['x']);
  });

  it('accepts -h and --help everywhere', () => {
    expect(parseFlags(table, ['-h']).values.help).toBe(true);
  });

  it('lists every flag with its placeholder and default, aligned', () => {
    const help = flagHelp(table);
    expect(help).toMatch(/^ {2}--rate N {2,}resolutions per second \(default: 1000\)$/m);
    expect(help).toMatch(/^ {2}--cache {2,}turn the cache on$/m);
    expect(help).toMatch(/^ {2}-h, --help {2,}show this help$/m);
    const columns = help.split('\n').map((line) => line.search(/ {2}\S/g));
    expect(new Set(columns).size).toBe(1);
  });
});
