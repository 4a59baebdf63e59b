import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { type Observer, observe } from '../observe.js';
import { parseExposition, value } from './exposition.fixtures.js';

const publish = (name: string, message: object) => channel(name).publish(message);

describe('resilience and chaos events', () => {
  let obs: Observer | undefined;
  afterEach(() => obs?.shutdown());

  it('turns channel messages into metrics', async () => {
    obs = observe({ service: 'ev' });
    const r = 'faultline:resilience:';
    publish(`${r}breaker-state`, {
      policy: 'breaker',
      name: 'db',
      from: 'closed',
      to: 'open',
      reason: 'failure-rate',
    });
    publish(`${r}retry`, { policy: 'retry', name: 'api', attempt: 1, delayMs: 10 });
    publish(`${r}retry`, { policy: 'retry', name: 'api', attempt: 2, delayMs: 20 });
    publish(`${r}retry-give-up`, { policy: 'retry', name: 'api', attempts: 3, reason: 'budget' });
    publish(`${r}budget-exhausted`, { policy: 'retry', name: 'api', calls: 10, retries: 2, allowed: 2 });
    publish(`${r}reject`, { policy: 'bulkhead', name: 'db', code: 'FL_BULKHEAD_FULL', reason: 'full' });
    publish(`${r}reject`, { policy: 'breaker', name: 'db', code: 'FL_CIRCUIT_OPEN', reason: 'open' });
    publish(`${r}timeout`, { policy: 'timeout', name: 'api', timeoutMs: 100, elapsedMs: 101 });
    publish(`${r}limit`, { policy: 'adaptive', name: 'api', limit: 17, previous: 20, inflight: 3 });
    publish(`${r}hedge`, { policy: 'hedge', name: 'api', attempt: 1, delayMs: 5 });
    publish(`${r}fallback`, { policy: 'fallback', name: 'api', source: 'cache' });
    publish('faultline:chaos:toxic', { time: 't', kind: 'chaos.toxic.added', proxy: 'pg', toxic: {} });
    publish('faultline:chaos:proxy', { time: 't', kind: 'chaos.proxy.created', proxy: 'pg' });
    publish('faultline:chaos:fault', { fault: 'latency', name: 'x', attempt: 1 });
    publish('faultline:chaos:experiment', { event: 'experiment.started', title: 't' });

    let s = parseExposition(await obs.metrics());
    expect(value(s, 'faultline_breaker_state', { name: 'db', state: 'open' })).toBe(1);
    expect(value(s, 'faultline_breaker_state', { name: 'db', state: 'closed' })).toBe(0);
    expect(value(s, 'faultline_breaker_transitions_total', { name: 'db', to: 'open' })).toBe(1);
    expect(value(s, 'faultline_retries_total', { policy: 'retry', name: 'api' })).toBe(2);
    expect(value(s, 'faultline_retry_give_ups_total', { name: 'api', reason: 'budget' })).toBe(1);
    expect(value(s, 'faultline_retry_budget_exhausted_total', { name: 'api' })).toBe(1);
    expect(value(s, 'faultline_rejections_total', { policy: 'bulkhead', code: 'FL_BULKHEAD_FULL' })).toBe(1);
    expect(value(s, 'faultline_rejections_total', { policy: 'breaker', code: 'FL_CIRCUIT_OPEN' })).toBe(1);
    expect(value(s, 'faultline_timeouts_total', { name: 'api' })).toBe(1);
    expect(value(s, 'faultline_concurrency_limit', { name: 'api' })).toBe(17);
    expect(value(s, 'faultline_hedges_total', { name: 'api' })).toBe(1);
    expect(value(s, 'faultline_fallbacks_total', { name: 'api' })).toBe(1);
    expect(value(s, 'faultline_chaos_events_total', { channel: 'toxic', kind: 'chaos.toxic.added' })).toBe(1);
    expect(value(s, 'faultline_chaos_events_total', { channel: 'proxy', kind: 'chaos.proxy.created' })).toBe(
      1,
    );
    expect(value(s, 'faultline_chaos_events_total', { channel: 'fault', kind: 'chaos.fault' })).toBe(1);
    expect(
      value(s, 'faultline_chaos_events_total', { channel: 'experiment', kind: 'experiment.started' }),
    ).toBe(1);

    publish(`${r}breaker-state`, { policy: 'breaker', name: 'db', from: 'open', to: 'half-open' });
    s = parseExposition(await obs.metrics());
    expect(value(s, 'faultline_breaker_state', { name: 'db', state: 'open' })).toBe(0);
    expect(value(s, 'faultline_breaker_state', { name: 'db', state: 'half-open' })).toBe(1);
  });

  it('ignores malformed messages without throwing', async () => {
    obs = observe({ service: 'ev' });
    channel('faultline:resilience:limit').publish({ limit: 'many' });
    channel('faultline:resilience:retry').publish(null);
    const s = parseExposition(await obs.metrics());
    expect(value(s, 'faultline_retries_total', { policy: 'unknown', name: 'unknown' })).toBe(1);
  });
});
