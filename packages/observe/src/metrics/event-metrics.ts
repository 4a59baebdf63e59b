import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, type Registry } from 'prom-client';

type Handler = (message: unknown, name: string | symbol) => void;

const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/** Channels published by @faultline/chaos, subscribed by name (no package dependency). */
export const CHAOS_CHANNELS = ['proxy', 'toxic', 'connection', 'http', 'fault', 'experiment'] as const;

function field(message: unknown, key: string): string {
  const value =
    typeof message === 'object' && message !== null ? (message as Record<string, unknown>)[key] : undefined;
  if (typeof value === 'string') return value.length > 64 ? value.slice(0, 64) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'unknown';
}

function numberField(message: unknown, key: string): number | undefined {
  const value =
    typeof message === 'object' && message !== null ? (message as Record<string, unknown>)[key] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Turns the resilience and chaos diagnostics-channel events into metrics. Subscribes by channel
 * name, so it works with any installed copy of the publishing packages; `close()` unsubscribes.
 */
export class EventMetrics {
  private readonly subscriptions: Array<[string, Handler]> = [];

  constructor(registry: Registry) {
    const registers = [registry];
    const breakerState = new Gauge({
      name: 'faultline_breaker_state',
      help: 'Circuit breaker state: 1 for the current state of each breaker, 0 for the others',
      labelNames: ['name', 'state'],
      registers,
    });
    const breakerTransitions = new Counter({
      name: 'faultline_breaker_transitions_total',
      help: 'Circuit breaker state changes, by breaker and new state',
      labelNames: ['name', 'to'],
      registers,
    });
    const retries = new Counter({
      name: 'faultline_retries_total',
      help: 'Retries scheduled (attempts beyond the first)',
      labelNames: ['policy', 'name'],
      registers,
    });
    const giveUps = new Counter({
      name: 'faultline_retry_give_ups_total',
      help: 'Retry policies that stopped retrying, by reason (exhausted, budget, deadline, …)',
      labelNames: ['policy', 'name', 'reason'],
      registers,
    });
    const budget = new Counter({
      name: 'faultline_retry_budget_exhausted_total',
      help: 'Retries refused by a retry budget',
      labelNames: ['policy', 'name'],
      registers,
    });
    const rejections = new Counter({
      name: 'faultline_rejections_total',
      help: 'Calls a policy rejected without running them, by error code',
      labelNames: ['policy', 'name', 'code'],
      registers,
    });
    const timeouts = new Counter({
      name: 'faultline_timeouts_total',
      help: 'Timeouts fired by timeout policies',
      labelNames: ['policy', 'name'],
      registers,
    });
    const limit = new Gauge({
      name: 'faultline_concurrency_limit',
      help: 'Current adaptive concurrency limit',
      labelNames: ['policy', 'name'],
      registers,
    });
    const hedges = new Counter({
      name: 'faultline_hedges_total',
      help: 'Hedged attempts started',
      labelNames: ['policy', 'name'],
      registers,
    });
    const fallbacks = new Counter({
      name: 'faultline_fallbacks_total',
      help: 'Failures replaced by a fallback',
      labelNames: ['policy', 'name'],
      registers,
    });
    const chaos = new Counter({
      name: 'faultline_chaos_events_total',
      help: 'Chaos events: proxy and toxic changes, faulted connections and requests, injected faults',
      labelNames: ['channel', 'kind'],
      registers,
    });

    const r = 'faultline:resilience:';
    this.on(`${r}breaker-state`, (m) => {
      const name = field(m, 'name');
      const to = field(m, 'to');
      for (const state of BREAKER_STATES) breakerState.set({ name, state }, state === to ? 1 : 0);
      breakerTransitions.inc({ name, to });
    });
    this.on(`${r}retry`, (m) => retries.inc({ policy: field(m, 'policy'), name: field(m, 'name') }));
    this.on(`${r}retry-give-up`, (m) =>
      giveUps.inc({ policy: field(m, 'policy'), name: field(m, 'name'), reason: field(m, 'reason') }),
    );
    this.on(`${r}budget-exhausted`, (m) =>
      budget.inc({ policy: field(m, 'policy'), name: field(m, 'name') }),
    );
    this.on(`${r}reject`, (m) =>
      rejections.inc({ policy: field(m, 'policy'), name: field(m, 'name'), code: field(m, 'code') }),
    );
    this.on(`${r}timeout`, (m) => timeouts.inc({ policy: field(m, 'policy'), name: field(m, 'name') }));
    this.on(`${r}limit`, (m) => {
      const value = numberField(m, 'limit');
      if (value !== undefined) limit.set({ policy: field(m, 'policy'), name: field(m, 'name') }, value);
    });
    this.on(`${r}hedge`, (m) => hedges.inc({ policy: field(m, 'policy'), name: field(m, 'name') }));
    this.on(`${r}fallback`, (m) => fallbacks.inc({ policy: field(m, 'policy'), name: field(m, 'name') }));
    for (const channel of CHAOS_CHANNELS) {
      // experiments name their step in `event`; the fault channel carries no kind at all
      this.on(`faultline:chaos:${channel}`, (m) => {
        const kind =
          channel === 'fault'
            ? 'chaos.fault'
            : channel === 'experiment'
              ? field(m, 'event')
              : field(m, 'kind');
        chaos.inc({ channel, kind });
      });
    }
  }

  private on(name: string, handler: Handler): void {
    subscribe(name, handler);
    this.subscriptions.push([name, handler]);
  }

  close(): void {
    for (const [name, handler] of this.subscriptions) unsubscribe(name, handler);
    this.subscriptions.length = 0;
  }
}
