import {
  createHistogram,
  type EventLoopUtilization,
  PerformanceObserver,
  constants as perfConstants,
  performance,
} from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Gauge, Histogram, type Registry } from 'prom-client';

const GC_KINDS: Readonly<Record<number, string>> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** GC pauses are usually sub-millisecond; the ones that stall probes are 50 ms and up. */
const GC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Tick of the event-loop delay sampler, ms. */
const DELAY_RESOLUTION_MS = 10;

/**
 * Event loop, GC, heap and process gauges, each read when scraped. The event-loop delay histogram
 * and the utilisation baseline are reset on every scrape, so p50/p99/max and utilisation describe
 * the last scrape interval, not the process lifetime (a 1 s stall stays visible at 1 s scrapes).
 *
 * The delay is sampled by an unref'd 10 ms interval timer rather than `monitorEventLoopDelay`:
 * that monitor's `reset()` also forgets its previous tick, so a stall that starts right after a
 * scrape is never recorded (Node 20: an 80 ms block just after `reset()` shows as max 10 ms).
 */
export class RuntimeMetrics {
  private readonly sampler: NodeJS.Timeout;
  private elu: EventLoopUtilization;
  private readonly gcObserver: PerformanceObserver;

  constructor(registry: Registry) {
    // nanoseconds by which each tick came late; reset per scrape, the last tick time is kept
    const delay = createHistogram();
    let last = performance.now();
    this.sampler = setInterval(() => {
      const now = performance.now();
      const lateNs = Math.round((now - last - DELAY_RESOLUTION_MS) * 1e6);
      last = now;
      delay.record(lateNs > 0 ? lateNs : 1);
    }, DELAY_RESOLUTION_MS);
    this.sampler.unref();
    this.elu = performance.eventLoopUtilization();

    new Gauge({
      name: 'nodejs_eventloop_delay_seconds',
      help: 'Event-loop delay over the last scrape interval (stat = p50, p99, max)',
      labelNames: ['stat'],
      registers: [registry],
      collect() {
        // no sample yet (idle interval shorter than the resolution): report 0, not the sentinels
        const has = delay.count > 0;
        this.set({ stat: 'p50' }, has ? delay.percentile(50) / 1e9 : 0);
        this.set({ stat: 'p99' }, has ? delay.percentile(99) / 1e9 : 0);
        this.set({ stat: 'max' }, has ? delay.max / 1e9 : 0);
        delay.reset();
      },
    });
    const runtime = this;
    new Gauge({
      name: 'nodejs_eventloop_utilization_ratio',
      help: 'Share of the last scrape interval the event loop was busy (0..1)',
      registers: [registry],
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, runtime.elu).utilization);
        runtime.elu = now;
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use',
      registers: [registry],
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Gauge({
      name: 'nodejs_heap_limit_bytes',
      help: 'V8 heap size limit (heap used reaching it ends in an out-of-memory crash)',
      registers: [registry],
      collect() {
        this.set(getHeapStatistics().heap_size_limit);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident set size of the process',
      registers: [registry],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'nodejs_active_resources',
      help: 'Resources keeping the event loop alive (sockets, timers, handles)',
      registers: [registry],
      collect() {
        this.set(process.getActiveResourcesInfo().length);
      },
    });

    const gc = new Histogram({
      name: 'nodejs_gc_duration_seconds',
      help: 'Garbage-collection pauses by kind (minor, major, incremental, weakcb)',
      labelNames: ['kind'],
      buckets: GC_BUCKETS,
      registers: [registry],
    });
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { readonly detail?: { readonly kind?: number } }).detail;
        const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
        gc.observe({ kind }, entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  close(): void {
    clearInterval(this.sampler);
    this.gcObserver.disconnect();
  }
}
