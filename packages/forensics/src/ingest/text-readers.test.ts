import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLeadingTimestamp } from '../time/leading-timestamp.js';
import { syslogHeader } from './text-readers.js';

/** The header of `line` as the text reader sees it (after its timestamp). */
const header = (line: string) => {
  const stamp = parseLeadingTimestamp(line, { year: 2020 });
  return stamp === undefined ? undefined : syslogHeader(line, stamp.rest);
};

describe('syslogHeader', () => {
  it('takes the program as the service and the host as the instance', () => {
    expect(header('Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186')).toEqual({
      host: 'LabSZ',
      program: 'sshd',
      pid: 24200,
      message: 'Invalid user webmaster from 173.234.31.186',
    });
    expect(header('Jun  9 06:06:20 combo sshd(pam_unix)[19939]: authentication failure')).toMatchObject({
      host: 'combo',
      program: 'sshd(pam_unix)',
      pid: 19939,
    });
    // no pid: only with a timestamp syslog writes
    expect(header('Jul  1 09:00:55 calvisitor-10-105-160-95 kernel: IOThunderboltSwitch')).toMatchObject({
      host: 'calvisitor-10-105-160-95',
      program: 'kernel',
      pid: undefined,
    });
    expect(header('2024-03-01T10:00:00.123456+00:00 web-1 nginx: worker started')).toMatchObject({
      host: 'web-1',
      program: 'nginx',
    });
  });

  it('leaves the other text formats alone (levels, loggers, thread ids)', () => {
    for (const line of [
      '17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers',
      '081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating',
      '03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs',
      '2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created',
      '2024-01-02 03:04:05 ERROR db: connection refused',
      '2024-01-02 03:04:05 api users: 3 loaded',
    ])
      expect(header(line), line).toBeUndefined();
  });

  it('reads back any host, program and pid it is given', () => {
    const host = fc.stringMatching(/^[A-Za-z0-9][\w.-]{0,20}$/);
    const program = fc.stringMatching(/^[A-Za-z_][\w./-]{0,20}$/);
    fc.assert(
      fc.property(host, program, fc.integer({ min: 0, max: 4_000_000 }), fc.string(), (h, p, pid, msg) => {
        const levels = /^(trace|debug|info|notice|warn|warning|error|err|severe|fatal|crit|critical|emerg)$/i;
        fc.pre(!levels.test(h) && !levels.test(p));
        const parsed = header(`Mar  3 01:02:03 ${h} ${p}[${pid}]: ${msg}`);
        expect(parsed).toEqual({ host: h, program: p, pid, message: msg });
      }),
    );
  });
});
