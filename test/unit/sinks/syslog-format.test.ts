import { describe, expect, it } from 'vitest';
import { formatSyslog, octetCountingFrame } from '../../../src/sinks/index.js';

describe('RFC 5424 formatting', () => {
  const record = {
    '@timestamp': '2026-11-22T10:15:02.123456789Z',
    event: { id: 'a"b]c', sequence: 7, action: 'anomaly-port-scan', kind: 'alert' },
    alert: { severity: 'high' },
    observer: { hostname: 'node a' },
  };

  it('builds PRI from facility and alert severity, cuts time to microseconds, escapes SD', () => {
    const line = formatSyslog(record, { facility: 13, appName: 'portwarden', procId: 99 });
    // 13 * 8 + 3 (err) = 107 — RFC 5424 §6.2.1
    expect(
      line.startsWith('<107>1 2026-11-22T10:15:02.123456Z node_a portwarden 99 anomaly-port-scan '),
    ).toBe(true);
    expect(line).toContain('[portwarden@32473 id="a\\"b\\]c" sequence="7" severity="high"]');
    expect(JSON.parse(line.slice(line.indexOf('] {') + 2))).toEqual(record);
  });

  it('marks records without an alert severity informational and uses NILVALUE for no SD', () => {
    const line = formatSyslog(
      { event: { action: 'audit-finding' } },
      { facility: 1, appName: 'pw', hostname: 'h', procId: 1 },
    );
    expect(line).toMatch(/^<14>1 \S+Z h pw 1 audit-finding - \{/);
  });

  it('frames by octet count (RFC 6587 §3.4.1) in bytes, not characters', () => {
    expect(octetCountingFrame('é').toString('utf8')).toBe('2 é');
  });
});
