import { describe, expect, it } from 'vitest';
import { summarize } from '../run/mode-summary.js';
import { labReportHtml } from './lab-report.js';

describe('labReportHtml', () => {
  const summary = summarize(
    [{ t: 1000, ms: 10, ok: true, status: 200, attempts: 1, degraded: false }],
    1000,
    5,
    2,
  );
  const html = labReportHtml({
    scenario: {
      name: 'x',
      title: 'a <b>title</b>',
      description: '<img src=x onerror=alert(1)>',
      catalogue: 2,
    },
    database: 'PostgreSQL',
    rps: 10,
    durationS: 5,
    triggerEndS: 2,
    createdAt: '2026-01-01T00:00:00Z',
    modes: [
      {
        mode: 'baseline',
        summary,
        series: {
          poolInUse: [{ label: 'app-1', points: [[1, 3]] }],
          poolWaiting: [],
          heapMb: [],
          loopP99Ms: [],
          healthyBackends: [],
          markers: [{ s: 1, kind: 'fault.injected', label: '</script><script>alert(1)</script>' }],
        },
      },
    ],
  });

  it('is self-contained: uPlot inlined, no external script, style or image', () => {
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).toContain("default-src 'none'");
  });

  it('shows run text as text, never markup', () => {
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).not.toContain('<b>title</b>');
    // the marker label sits in JSON that cannot close its script element
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('\\u003c/script>');
  });
});
