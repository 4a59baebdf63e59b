import { writeFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import type { CliIo } from '../cli.js';

/**
 * `faultline chaos run <file> [--journal out.json] [--dry-run]`: parses arguments and calls
 * @faultline/chaos; the exit code says whether the hypothesis held (0), deviated (1), the run was
 * aborted or failed (2), or the experiment is invalid (3).
 */
export function registerChaosCommand(program: Command, io: CliIo): void {
  const chaos = program
    .command('chaos')
    .description('chaos experiments: steady-state checks, faults, automatic abort and guaranteed rollback');

  chaos
    .command('run')
    .argument('<file>', 'experiment file, YAML or JSON')
    .description(
      'run an experiment; exit 0 hypothesis held, 1 deviated, 2 aborted or failed, 3 invalid experiment',
    )
    .option('--journal <path>', 'write the journal (JSON) to this file')
    .option('--dry-run', 'validate and print the plan; probe and inject nothing')
    .action(async (file: string, opts: { journal?: string; dryRun?: boolean }) => {
      const code = await runChaos(file, opts, io);
      if (code !== 0) throw new CommanderError(code, 'faultline.chaos.exit', `experiment exit code ${code}`);
    });
}

async function runChaos(
  file: string,
  opts: { journal?: string; dryRun?: boolean },
  io: CliIo,
): Promise<number> {
  const { exitCodeOf, isExperimentError, loadExperiment, runExperiment } = await import('@faultline/chaos');
  let definition: Awaited<ReturnType<typeof loadExperiment>>;
  try {
    definition = await loadExperiment(file);
  } catch (e) {
    io.err(`faultline chaos: ${e instanceof Error ? e.message : String(e)}\n`);
    return isExperimentError(e) ? 3 : 2;
  }
  const journal = await runExperiment(definition, {
    file,
    dryRun: opts.dryRun === true,
    log: (line) => io.out(`${line}\n`),
  });
  if (opts.journal !== undefined) {
    try {
      await writeFile(opts.journal, `${JSON.stringify(journal, null, 2)}\n`);
      io.out(`journal written to ${opts.journal}\n`);
    } catch (e) {
      io.err(`faultline chaos: cannot write the journal: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  }
  return exitCodeOf(journal);
}
