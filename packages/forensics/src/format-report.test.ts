import { describe, expect, it } from 'vitest';
import { formatIngestReport } from './format-report.js';
import type { FileReport } from './ingest/file-report.js';
import type { IngestReport } from './investigate.js';

const file = (path: string, extra: Partial<FileReport> = {}): FileReport => ({
  path,
  format: 'text-logs',
  compressed: false,
  bytes: 10,
  records: 2,
  rejected: 0,
  rejectReasons: {},
  samples: [],
  timeRange: { fromMs: 0, toMs: 1000 },
  services: [],
  gzipError: null,
  invalidUtf8Lines: 0,
  skipped: null,
  notes: [],
  durationMs: 1,
  ...extra,
});

const report = (files: FileReport[]): IngestReport => ({
  files,
  totals: {
    files: files.length,
    unchanged: 0,
    records: 2,
    rejected: 0,
    logs: 2,
    templates: 1,
    series: 0,
    samples: 0,
    spans: 0,
    events: 0,
  },
  timeRange: { fromMs: 0, toMs: 1000 },
  services: ['worker'],
  clockSuspicions: [],
  store: ':memory:',
  durationMs: 5,
});

describe('formatIngestReport', () => {
  it("shows each file's notes once, under the file, and no notes section when there are none", () => {
    const text = formatIngestReport(
      report([
        file('worker.log', {
          notes: ['no record names a service: the file\'s name, "worker", is used as its service'],
        }),
        file('cut.jsonl.gz', {
          gzipError: 'unexpected end of file',
          notes: ['gzip stream ended early after 3 lines: kept what was read'],
        }),
      ]),
    );
    expect(text).toMatch(/notes:\n {2}worker\.log\n {4}no record names a service: the file's name, "worker"/);
    // the gzip problem is told once, in the problems section
    expect(text.match(/ended early|gzip error/g)).toEqual(['gzip error']);
    expect(formatIngestReport(report([file('a.log')]))).not.toContain('notes:');
  });
});
