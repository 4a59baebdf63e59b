import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerChaosCommand } from './commands/chaos.js';
import { registerInvestigateCommand } from './commands/investigate.js';
import { registerLabCommand } from './commands/lab.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerTemplatesCommand } from './commands/templates.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/** Where the command writes; tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Builds the `faultline` command tree. Subcommands only parse arguments and call package APIs. */
export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('faultline')
    .description(
      'Find, reproduce and prevent the cascading failures behind "random" downtime in Node.js services.',
    )
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run "faultline --help" for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program
    .command('demo')
    .description(
      'simulate a retry storm (scenario 3): naive retries stay collapsed, budgeted retries recover',
    )
    .action(async () => {
      const { runDemo } = await import('./demo/demo.js');
      await runDemo((line) => io.out(`${line}\n`));
    });

  registerLabCommand(program, io);
  registerProxyCommand(program, io);
  registerChaosCommand(program, io);
  registerInvestigateCommand(program, io);
  registerTemplatesCommand(program, io);

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.err(`faultline: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
