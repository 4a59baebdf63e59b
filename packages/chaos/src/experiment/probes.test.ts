import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrometheusProbe } from './definition.js';
import { runProbe } from './probes.js';

/** A Prometheus-compatible `/api/v1/query` stub answering by query text. */
let server: Server;
let base: string;
const queries: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const q = u.searchParams.get('query') ?? '';
    queries.push(q);
    const send = (body: unknown, status = 200) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (u.pathname !== '/api/v1/query') return send({ status: 'error', error: 'not found' }, 404);
    const sample = (v: string, metric: Record<string, string> = {}) => ({
      metric,
      value: [1_700_000_000, v],
    });
    switch (q) {
      case 'sum(rate(errors_total[1m]))':
        return send({
          status: 'success',
          data: { resultType: 'vector', result: [sample('0.25', { job: 'api' })] },
        });
      case 'scalar(up)':
        return send({ status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, '1'] } });
      case 'absent':
        return send({ status: 'success', data: { resultType: 'vector', result: [] } });
      case 'up':
        return send({
          status: 'success',
          data: { resultType: 'vector', result: [sample('1'), sample('0')] },
        });
      case 'nan':
        return send({ status: 'success', data: { resultType: 'vector', result: [sample('NaN')] } });
      default:
        return send({ status: 'error', errorType: 'bad_data', error: 'parse error at char 1' }, 400);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const probe = (query: string, tolerance: PrometheusProbe['tolerance']): PrometheusProbe => ({
  type: 'prometheus',
  name: 'p',
  url: `${base}/`,
  query,
  tolerance,
  timeoutMs: 2000,
});

describe('prometheus probe', () => {
  it('passes when one sample is within the tolerance, and reports the value', async () => {
    const r = await runProbe(probe('sum(rate(errors_total[1m]))', { min: undefined, max: 0.5 }), undefined);
    expect(r).toMatchObject({
      ok: true,
      value: { value: 0.25, metric: { job: 'api' } },
      expected: 'value <= 0.5',
    });
    expect(queries).toContain('sum(rate(errors_total[1m]))');
  });

  it('fails outside the tolerance, with the value', async () => {
    const r = await runProbe(probe('sum(rate(errors_total[1m]))', { min: 0.3, max: 1 }), undefined);
    expect(r).toMatchObject({ ok: false, value: { value: 0.25 }, error: 'value 0.25 not [0.3, 1]' });
  });

  it('reads scalars', async () => {
    expect(await runProbe(probe('scalar(up)', { min: 1, max: 1 }), undefined)).toMatchObject({
      ok: true,
      value: { value: 1 },
    });
  });

  it('fails on no samples, several series, NaN and query errors', async () => {
    const range = { min: 0, max: undefined };
    expect((await runProbe(probe('absent', range), undefined)).error).toMatch(/no samples/);
    expect((await runProbe(probe('up', range), undefined)).error).toMatch(/2 series; aggregate/);
    expect((await runProbe(probe('nan', range), undefined)).error).toMatch(/not a number/);
    expect((await runProbe(probe('rate(', range), undefined)).error).toMatch(
      /query failed \(HTTP 400\): parse error/,
    );
  });
});
