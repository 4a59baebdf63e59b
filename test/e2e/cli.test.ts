import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, repoRoot, runCli, stackFrame, stopAllCli } from './cli-process.js';

const { version } = JSON.parse(readFileSync(`${repoRoot}packages/cli/package.json`, 'utf8')) as {
  version: string;
};

beforeAll(assertBuilt);
afterEach(stopAllCli);

describe('faultline (the process)', () => {
  it.each(['--version', '-v'])('%s prints the package version and exits 0', async (flag) => {
    const r = await runCli([flag]);
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: faultline \[options\] \[command\]/);
    for (const command of ['demo', 'proxy [options]', 'chaos', 'help [command]']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${command.replace(/[[\]]/g, '\\$&')}\\s`, 'm'));
    }
  });

  it('proxy --help documents its options', async () => {
    const r = await runCli(['proxy', '--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--host <host>',
      '--port <port>',
      '--config <file>',
      '--events <file>',
      '--log-connections',
    ]) {
      expect(r.stdout).toContain(option);
    }
  });

  it('chaos run --help documents the exit codes', async () => {
    const r = await runCli(['chaos', 'run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: faultline chaos run [options] <file>');
    // commander wraps help at 80 columns: compare with the line breaks folded
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      'exit 0 hypothesis held, 1 deviated, 2 aborted or failed, 3 invalid experiment',
    );
    expect(r.stdout).toContain('--dry-run');
  });

  it('an unknown command fails with a message on stderr and no stack trace', async () => {
    const r = await runCli(['explode']);
    expect(r.code).not.toBe(0);
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown command 'explode'");
    expect(r.stderr).toContain('faultline --help');
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it('an invalid option value fails with a message naming the option', async () => {
    const r = await runCli(['proxy', '--port', 'eighty']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("option '--port <port>' argument 'eighty' is invalid");
    expect(r.stderr).not.toMatch(stackFrame);
    expect(r.stdout).toBe('');
  });

  it('chaos run without a file says the argument is missing', async () => {
    const r = await runCli(['chaos', 'run']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("missing required argument 'file'");
    expect(r.stderr).not.toMatch(stackFrame);
  });
});
