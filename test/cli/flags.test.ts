import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// The command line as a user meets it: every mistake exits 2 with a message
// naming the flag, before anything starts (no world, no network).
describe('atresolve: usage errors exit 2 with a message', () => {
  it.each([
    [['soak', '--rate', 'fast'], /--rate: expected a whole number, got 'fast'/],
    [['soak', '--rate', '0'], /--rate: must be between 1 and 100000, got 0/],
    [['soak', '--rate', '1000,x'], /--rate: expected a whole number, got 'x'/],
    [['soak', '--rate', '1000,3000', '--duration', '3s'], /--rate: 2 steps need a --duration of a whole number of seconds per step/],
    [['soak', '--duration', '10 minutes'], /--duration: expected a duration like 30s, 5m or 500ms/],
    [['soak', '--duration', '1500ms'], /--duration: must be whole seconds/],
    [['soak', '--duration', '0s'], /--duration: must be between 1s and/],
    [['soak', '--hosts', '5'], /--hosts: must be between 10 and/],
    [['soak', '--mix', 'plc=50,dns=50'], /--mix: unknown kind 'dns'/],
    [['soak', '--mix', 'plc=50,plc=10'], /--mix: 'plc' given twice/],
    [['soak', '--mix', 'plc=0,web=0'], /--mix: the weights add up to 0/],
    [['soak', '--mix', 'plc'], /--mix: expected kind=weight pairs/],
    [['soak', '--transport', 'fetch'], /--transport: expected one of curl, undici, got 'fetch'/],
    [['soak', '--compare', '--transport', 'undici'], /--transport and --compare do not go together/],
    [['soak', '--peer-node', process.execPath], /--peer-node goes with --compare/],
    [['soak', '--compare', '--peer-node', '/nonexistent/node'], /--peer-node: cannot run '\/nonexistent\/node' \(spawnSync \/nonexistent\/node ENOENT\)/],
    [['soak', '--compare', '--peer-node', '/bin/true'], /--peer-node: '\/bin\/true --version' printed '[^']*', not a Node version/],
    [['soak', '--handle-strategy', 'sometimes'], /--handle-strategy: expected one of both, dns-first, https-first, race/],
    [['soak', '--bogus'], /unknown flag --bogus/],
    [['soak', '--rate'], /--rate needs a value/],
    [['soak', '--cache=yes'], /--cache does not take a value/],
    [['soak', 'extra'], /soak takes no arguments, got 'extra'/],
    [['soak', '--warmup', '2500ms'], /--warmup: must be whole seconds/],
    [['soak', '--max-growth', 'lots'], /--max-growth: expected a number, got 'lots'/],
    [['soak', '--max-error-rate', '120%'], /--max-error-rate: must be between 0 and 100, got 120/],
    [['soak', '--min-achieved', '1.5'], /--min-achieved: must be between 0 and 1, got 1.5/],
    [['soak', '--faults', 'gremlins=5'], /--faults: unknown fault 'gremlins' \(faults: notFound, serverError, /],
    [['soak', '--faults', 'timeout=70,serverError=40'], /--faults: the percentages add up to 110, more than 100/],
    [['soak', '--faults', 'timeout'], /--faults: expected fault=percent pairs/],
    [['soak', '--flush-every', '500ms'], /--flush-every: must be between 1s and 1h/],
    [['resolve'], /resolve: give at least one DID or handle/],
    [['resolve', '--timeout', 'soon', 'alice.test'], /--timeout: expected a duration/],
    [['resolve', '--plc-url', 'ftp://plc.example', 'did:plc:abc'], /--plc-url: expected an http\(s\) URL/],
    [['resolve', '--connect-to', 'plc.test:443', 'did:plc:abc'], /--connect-to: expected HOST:PORT:IP:PORT/],
    [['resolve', '--transport', 'carrier-pigeon', 'alice.test'], /--transport: expected one of curl, undici/],
    [['launch'], /unknown command 'launch'/],
  ])('%j', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/--help' for usage/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 and prints the command list when no command is given', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: atresolve <command>');
  });
});

describe('atresolve --help', () => {
  it('lists the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/resolve <did\|handle>/);
    expect(result.stdout).toMatch(/soak/);
  });

  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('lists every soak flag with its default', async () => {
    const result = await runCli(['soak', '--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--duration', '--warmup', '--rate', '--hosts', '--mix', '--transport', '--recycle-after', '--out', '--cache', '--compare',
      '--peer-node', '--max-in-flight', '--max-growth', '--max-error-rate', '--min-achieved', '--faults', '--flush-every',
    ]) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toContain('(default: 60s)');
    expect(result.stdout).toContain('(default: 5s)');
    expect(result.stdout).toContain('(default: 32)');
    expect(result.stdout).toContain('(default: 0.95)');
    for (const status of ['0 ', '1 ', '2 ', '8 ', '16 ', '32 ', '130 ']) expect(result.stdout).toMatch(new RegExp(`^  ${status}`, 'm'));
    expect(result.stdout).toContain('(default: 1000)');
    expect(result.stdout).toContain('(default: 20000)');
    expect(result.stdout).toContain('(default: plc=50,web=40,handle=10)');
  });

  it('lists the resolve flags and the exit statuses', async () => {
    const result = await runCli(['resolve', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--plc-url', '--dns-server', '--timeout']) expect(result.stdout).toContain(flag);
    expect(result.stdout).toMatch(/3 +invalid input/);
    expect(result.stdout).toMatch(/4 +not found/);
    expect(result.stdout).toMatch(/5 +network failure/);
  });
});
