/**
 * The `atresolve` command line: dispatch to `resolve`, `soak` or `doctor`, map usage
 * errors to status 2. `main.ts` is the executable entry that calls `main()`.
 */
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { EXIT, runResolve } from './resolve.js';
import { packageVersion } from './version.js';

/** The top-level `--help` text. */
export function mainHelp(): string {
  return `Usage: atresolve <command> [flags]

Commands:
  resolve <did|handle>...  resolve DIDs and handles to verified identities (JSON)
  soak                     resolve against a local world at relay rates and
                           chart memory (report.json, memory.svg, verdict)
  doctor                   what atresolve can use on this machine (transport,
                           libcurl, C library, malloc figures, optional peers)

Run 'atresolve <command> --help' for a command's flags; 'atresolve --version'
prints the version.`;
}

/**
 * Run the CLI with `argv` (the arguments after the program name).
 * @returns the exit status
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'resolve':
        return await runResolve(rest, io);
      case 'soak': {
        // Loaded on demand: resolve must not pay for the soak's modules.
        const { runSoak } = await import('./soak.js');
        return await runSoak(rest, io);
      }
      case 'doctor': {
        const { runDoctor } = await import('./doctor.js');
        return await runDoctor(rest, io);
      }
      case '--version':
      case '-V':
        io.out(`${packageVersion()}\n`);
        return EXIT.ok;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io[command === undefined ? 'err' : 'out'](`${mainHelp()}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`atresolve: ${error.message}\nRun 'atresolve ${command === 'resolve' || command === 'soak' || command === 'doctor' ? `${command} ` : ''}--help' for usage.\n`);
      return EXIT.usage;
    }
    io.err(`atresolve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.internal;
  }
}
