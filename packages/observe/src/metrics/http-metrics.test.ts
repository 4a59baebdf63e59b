import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Observer, observe } from '../observe.js';
import { find, parseExposition, value } from './exposition.fixtures.js';
import { defaultRoute } from './route-label.js';

describe('HTTP server metrics over a real server', () => {
  let server: Server;
  let obs: Observer;
  let base: string;

  beforeAll(async () => {
    obs = observe({ service: 'api', instance: 'test-1' });
    server = createServer((req, res) => {
      if (obs.handler(req, res)) return;
      if (req.url?.startsWith('/fail')) {
        res.statusCode = 503;
        res.end('no');
        return;
      }
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.end('slow'), 30);
        return;
      }
      res.end('ok');
    });
    obs.instrumentHttpServer(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    obs.shutdown();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('counts requests, errors and latency by bounded route and status', async () => {
    for (let id = 0; id < 20; id++) await (await fetch(`${base}/users/${1000 + id}?x=${id}`)).text();
    for (let id = 0; id < 5; id++) await (await fetch(`${base}/${123456 + id}`)).text();
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/fail`)).text();
    await (await fetch(`${base}/slow`)).text();
    await (await fetch(`${base}/users`, { method: 'POST', body: 'x' })).text();

    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toBe(obs.registry.contentType);
    const samples = parseExposition(await res.text());

    expect(value(samples, 'http_server_requests_total', { route: 'GET /users', status: '200' })).toBe(20);
    expect(value(samples, 'http_server_requests_total', { route: 'GET /:id', status: '200' })).toBe(5);
    expect(value(samples, 'http_server_requests_total', { route: 'POST /users', status: '200' })).toBe(1);
    expect(value(samples, 'http_server_requests_total', { route: 'GET /fail', status: '503' })).toBe(3);
    expect(value(samples, 'http_server_errors_total', { route: 'GET /fail', status: '503' })).toBe(3);
    expect(find(samples, 'http_server_errors_total', { route: 'GET /users' })).toHaveLength(0);
    // every series carries the service and instance labels
    const requestSeries = find(samples, 'http_server_requests_total');
    for (const s of requestSeries) expect(s.labels).toMatchObject({ service: 'api', instance: 'test-1' });
    // route labels never hold raw ids or query strings
    for (const s of requestSeries) expect(s.labels.route).not.toMatch(/\d|\?/);

    // the slow request lands above 25 ms and at or below 50 ms
    const slow = { route: 'GET /slow', status: '200' };
    expect(value(samples, 'http_server_request_duration_seconds_bucket', { ...slow, le: '0.025' })).toBe(0);
    expect(value(samples, 'http_server_request_duration_seconds_bucket', { ...slow, le: '+Inf' })).toBe(1);
    expect(value(samples, 'http_server_request_duration_seconds_count', slow)).toBe(1);
    expect(value(samples, 'http_server_request_duration_seconds_sum', slow)).toBeGreaterThanOrEqual(0.025);
    const users = { route: 'GET /users', status: '200' };
    expect(value(samples, 'http_server_request_duration_seconds_count', users)).toBe(20);
    expect(value(samples, 'http_server_request_duration_seconds_bucket', { ...users, le: '+Inf' })).toBe(20);
  });

  it('keeps the route label set bounded under random paths', async () => {
    for (let i = 0; i < 250; i++) await (await fetch(`${base}/probe-${i.toString(36)}x`)).text();
    const samples = parseExposition(await obs.metrics());
    const routes = new Set(find(samples, 'http_server_requests_total').map((s) => s.labels.route));
    expect(routes.size).toBeLessThanOrEqual(201);
    expect(routes.has('other')).toBe(true);
  });

  it('counts an aborted response as an error', async () => {
    const own = observe({ service: 'api' });
    const aborting = createServer((_req, res) => res.destroy());
    own.instrumentHttpServer(aborting);
    aborting.listen(0, '127.0.0.1');
    await once(aborting, 'listening');
    try {
      const url = `http://127.0.0.1:${(aborting.address() as AddressInfo).port}/gone`;
      await expect(fetch(url)).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 20));
      const samples = parseExposition(await own.metrics());
      expect(value(samples, 'http_server_errors_total', { route: 'GET /gone', status: 'aborted' })).toBe(1);
    } finally {
      own.shutdown();
      await new Promise((r) => aborting.close(r));
    }
  });
});

describe('defaultRoute', () => {
  const route = (method: string, url: string) => defaultRoute({ method, url } as never);
  it('uses method and first segment, folding ids', () => {
    expect(route('GET', '/')).toBe('GET /');
    expect(route('GET', '/users/42')).toBe('GET /users');
    expect(route('GET', '/users?page=2')).toBe('GET /users');
    expect(route('DELETE', '/8f14e45f-ceea-4671-a7e3-2f1b6c5e9b01')).toBe('DELETE /:id');
    expect(route('GET', '/deadbeefcafe')).toBe('GET /:id');
    expect(route('BREW', '/pot')).toBe('OTHER /pot');
  });
});
