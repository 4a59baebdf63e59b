import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CliProcess, type CliResult, runCli, stackFrame, stopAllCli } from './cli-process.js';

beforeAll(assertBuilt);
afterEach(stopAllCli);

const dir = mkdtempSync(join(tmpdir(), 'faultline-templates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = [
  'DB connection timeout after 3012ms',
  'DB connection timeout after 2999ms',
  '{"level":30,"msg":"user 42 logged in from 10.0.0.1"}',
  '{"level":30,"message":"user 43 logged in from 10.0.0.2"}',
  'Healthcheck OK',
];
const text = `${lines.join('\n')}\n`;

interface LineOut {
  line: number;
  template_id: string;
  template: string;
}
const parse = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LineOut);

/** Runs `faultline …args` with `input` on stdin. */
async function runWithStdin(args: readonly string[], input: Buffer | string): Promise<CliResult> {
  const bin = fileURLToPath(new URL('../../packages/cli/bin/faultline.js', import.meta.url));
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const p = new CliProcess(child);
  child.stdin?.end(input);
  return p.waitForExit(15_000);
}

describe('faultline templates (the process)', () => {
  it('prints one JSON line per input line with its template id and template', async () => {
    const file = join(dir, 'app.log');
    writeFileSync(file, text);
    const r = await runCli(['templates', file]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = parse(r.stdout);
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5]);
    expect(out[1]).toEqual({
      line: 2,
      template_id: out[0]?.template_id,
      template: 'DB connection timeout after <*>',
    });
    expect(out[3]?.template).toBe('user <*> logged in from <*>');
    expect(out[3]?.template_id).toBe(out[2]?.template_id);
    expect(out[4]?.template).toBe('Healthcheck OK');
  });

  it('reads gzip and standard input, and prints the final table with --summary', async () => {
    const r = await runWithStdin(['templates', '-', '--summary'], gzipSync(text));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^\s*count\s+id\s+template$/);
    expect(rows[1]).toMatch(/^\s+2\s+T\d+\s+DB connection timeout after <\*>$/);
    expect(rows).toHaveLength(4);
  });

  it('takes the message from --json-field', async () => {
    const file = join(dir, 'fields.jsonl');
    writeFileSync(file, '{"event":{"text":"job 1 done"}}\n{"event":{"text":"job 2 done"}}\n');
    const out = parse((await runCli(['templates', file, '--json-field', 'event.text'])).stdout);
    expect(out.map((o) => o.template)).toEqual(['job <*> done', 'job <*> done']);
  });

  it('survives binary input, invalid UTF-8 and a huge line', async () => {
    const file = join(dir, 'bad.log');
    const bytes = Buffer.alloc(20_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    writeFileSync(
      file,
      Buffer.concat([
        bytes,
        Buffer.from('\n\xff\xfe broken 17\n'),
        Buffer.from(`${'x'.repeat(3_000_000)}\nend 1\n`),
      ]),
    );
    const r = await runCli(['templates', file]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = parse(r.stdout);
    expect(out[out.length - 1]?.template).toBe('end <*>');
  });

  it('reports a missing file and a truncated gzip without a stack trace', async () => {
    const missing = await runCli(['templates', join(dir, 'nope.log')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`templates: ${join(dir, 'nope.log')}: no such file`);
    expect(missing.stderr).not.toMatch(stackFrame);
    const folder = await runCli(['templates', dir]);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain(`templates: ${dir}: not a file`);
    const truncated = join(dir, 'cut.log.gz');
    writeFileSync(truncated, gzipSync(text.repeat(100)).subarray(0, 60));
    const r = await runCli(['templates', truncated]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^faultline: /);
    expect(r.stderr).not.toMatch(stackFrame);
  });
});
