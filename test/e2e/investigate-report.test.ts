// The `--html` report of `faultline investigate` in a real browser (Debian's chromium driven by
// playwright-core): it renders, makes no network request, and hostile log lines stay text.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeSlowDatabaseIncident } from '../../packages/forensics/src/analysis/synthetic-incident.fixtures.js';
import { assertBuilt, runCli, stopAllCli } from './cli-process.js';

const CHROMIUM = '/usr/bin/chromium';
const SCRIPT = '<script>window.__pwned=1</script>';
const IMG = '<img src=x onerror="window.__pwned=2">';

let dir = '';
let browser: Browser | undefined;

describe.skipIf(!existsSync(CHROMIUM))('faultline investigate --html (in chromium)', () => {
  let html = '';
  let stdout = '';

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'faultline-report-e2e-'));
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    // spans (OTLP/JSON), JSON logs and query_range metrics with a step change in db at onsetMs;
    // the hostile lines are errors of api (cause 2), so they are among its evidence log lines
    const { onsetMs } = await writeSlowDatabaseIncident(bundle);
    const nano = (ms: number) => String(BigInt(ms) * 1_000_000n);
    const hostile = [SCRIPT, IMG].map((message, k) =>
      JSON.stringify({
        ts_unix_nano: nano(onsetMs + 5000 + k * 1000),
        service: 'api',
        level: 'ERROR',
        message,
      }),
    );
    await appendFile(join(bundle, 'logs.jsonl'), `${hostile.join('\n')}\n`);
    html = join(dir, 'report.html');
    const r = await runCli(['investigate', bundle, '--html', html], 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    stdout = r.stdout;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });
  afterEach(stopAllCli);

  it('prints the path of the report it wrote', async () => {
    expect(stdout).toContain(`HTML report: ${html}`);
    expect((await readFile(html, 'utf8')).startsWith('<!doctype html>')).toBe(true);
  });

  it('renders without errors or requests, shows hostile log lines as text, draws charts and causes', async () => {
    if (browser === undefined) throw new Error('no browser');
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('.charts canvas');

    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    const text = await page.innerText('body');
    expect(text).toContain(SCRIPT);
    expect(text).toContain(IMG);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('body script').count()).toBe(3);

    expect(await page.locator('.charts canvas').count()).toBeGreaterThan(0);
    const causes = page.locator('ol.causes > li.cause');
    expect(await causes.count()).toBeGreaterThan(0);
    expect(await causes.first().innerText()).toMatch(/^1\. db /);
    expect(await page.locator('svg.cascade g.node').count()).toBe(3);
    expect(await page.locator('#data-quality table.files tbody tr').count()).toBeGreaterThanOrEqual(3);
    await page.close();
  });
});
