import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, portOf, roundTrip, startEcho } from '../proxy/loopback.fixtures.js';
import { startProxyServer } from '../proxy/server.js';
import { loadProxyConfigFile, parseProxyConfig } from './config-file.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function tempFile(content: string): string {
  const dir = cleanup.add(mkdtempSync(join(tmpdir(), 'fl-cfg-')), (d) => rmSync(d, { recursive: true }));
  const file = join(dir, 'proxies.json');
  writeFileSync(file, content);
  return file;
}

describe('start-up config file', () => {
  it('starts the proxies of a file, with declarative toxics', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const file = tempFile(
      JSON.stringify([
        {
          name: 'echo',
          listen: '127.0.0.1:0',
          upstream: echo.address,
          toxics: [{ type: 'latency', stream: 'both', attributes: { latency: 20 } }],
        },
        { name: 'off', upstream: echo.address, enabled: false },
      ]),
    );
    const s = cleanup.add(await startProxyServer({ port: 0, config: file }), (x) => x.close());
    const [echoProxy, off] = s.proxies.list();
    expect(off).toMatchObject({ name: 'off', enabled: false });
    expect(echoProxy?.toxics).toEqual([
      {
        name: 'latency_both',
        type: 'latency',
        stream: 'both',
        toxicity: 1,
        attributes: { latency: 20, jitter: 0 },
      },
    ]);
    const t0 = performance.now();
    expect((await roundTrip(portOf(echoProxy?.listen ?? ''), Buffer.from('x'))).data.toString()).toBe('x');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
  });

  it('names the file and the field of a bad config', async () => {
    const cases: [string, string][] = [
      ['{', 'not valid JSON'],
      ['{}', '(top level): must be an array'],
      ['[{"upstream":"x:1"}]', '[0].name: missing required field'],
      ['[{"name":"a"}]', '[0].upstream: missing required field'],
      ['[{"name":"a","upstream":"x:1","enabled":"no"}]', '[0].enabled: must be true or false'],
      ['[{"name":"a","upstream":"x:1"},{"name":"a","upstream":"x:1"}]', '[1].name: duplicate proxy name'],
      ['[{"name":"a","upstream":"x:1","toxics":[{"type":"lag"}]}]', '[0].toxics[0].type: must be one of'],
      ['[{"name":"a","upstream":"x:1","toxics":[{"type":"latency","stream":"up"}]}]', '[0].toxics[0].stream'],
      [
        '[{"name":"a","upstream":"x:1","toxics":[{"type":"latency","attributes":{"latency":"5"}}]}]',
        '[0].toxics[0].attributes.latency: must be an integer',
      ],
    ];
    for (const [content, problem] of cases) {
      const file = tempFile(content);
      expect(() => loadProxyConfigFile(file)).toThrow(expect.objectContaining({ code: 'FL_CONFIG_INVALID' }));
      expect(() => loadProxyConfigFile(file)).toThrow(`${file}: `);
      expect(() => loadProxyConfigFile(file)).toThrow(problem);
      await expect(startProxyServer({ port: 0, config: file })).rejects.toMatchObject({
        code: 'FL_CONFIG_INVALID',
      });
    }
    expect(() => loadProxyConfigFile('/nonexistent/proxies.json')).toThrow(
      '/nonexistent/proxies.json: cannot read',
    );
    expect(() => parseProxyConfig([{ name: 'a', upstream: 'x:1', toxics: {} }])).toThrow(
      'config: [0].toxics',
    );
  });

  it('accepts a config array in process', async () => {
    const s = cleanup.add(
      await startProxyServer({ port: 0, config: [{ name: 'a', upstream: '127.0.0.1:9', enabled: false }] }),
      (x) => x.close(),
    );
    expect(s.proxies.get('a').enabled).toBe(false);
  });
});
