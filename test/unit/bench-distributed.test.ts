import { describe, expect, it } from 'vitest';
import { parseConsumerPerformance, peakRssOf, resultTable } from '../../bench/distributed.js';

describe('the distributed benchmark', () => {
  it("reads ConsumerPerformance's stats line: totals with the group join, and the fetch phase alone", () => {
    const stdout = [
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-12-07 08:26:40:326, 2026-12-07 08:26:41:262, 0.0954, 0.1019, 1000, 1068.3761, 840, 96, 0.9934, 10416.6667',
      '',
    ].join('\n');
    const r = parseConsumerPerformance(stdout);
    expect(r.messages).toBe(1000);
    expect(r.megabytes).toBeCloseTo(0.0954, 6);
    expect(r.seconds).toBeCloseTo(0.936, 3);
    expect(r.fetchSeconds).toBeCloseTo(0.096, 6);
  });

  it('says what ConsumerPerformance printed when it has no stats line', () => {
    expect(() => parseConsumerPerformance('WARN no partitions assigned\n')).toThrow(/no stats line.*\n.*no partitions assigned/s);
    expect(() => parseConsumerPerformance('start.time, end.time, data.consumed.in.MB\n1, 2, 3\n')).toThrow(
      /no number in column 'data.consumed.in.nMsg'/,
    );
  });

  it('reads the peak resident set from /proc/<pid>/status', () => {
    const status = ['Name:\tnode', 'VmPeak:\t 1200000 kB', 'VmHWM:\t  204800 kB', 'VmRSS:\t  150000 kB'].join('\n');
    expect(peakRssOf(status)).toBe(204_800 * 1024);
    expect(() => peakRssOf('Name:\tnode\n')).toThrow(/VmHWM/);
  });

  it('prints each scenario with its rate, its ratio to the slower limit, its join time and its processes’ peak memory', () => {
    const lines = resultTable(
      [
        { scenario: 'limit: consume', events: 10_000, seconds: 0.5 },
        { scenario: 'limit: insert', events: 10_000, seconds: 1 },
        {
          scenario: 'backlog drain, 2 normalizers',
          events: 10_000,
          seconds: 4,
          startSeconds: 1.5,
          peakRss: [200 * 2 ** 20, 150 * 2 ** 20],
        },
      ],
      { consume: 20_000, insert: 10_000 },
    );
    expect(lines[0]).toMatch(/^scenario +events +seconds +events\/s +ratio to insert limit +join s +normalizer peak RSS$/);
    expect(lines[1]).toMatch(/^-+( +-+){6}$/);
    expect(lines[2]).toMatch(/^limit: consume +10,000 +0\.50 +20,000 +2\.00$/);
    expect(lines[3]).toMatch(/^limit: insert +10,000 +1\.00 +10,000 +1\.00$/);
    expect(lines[4]).toMatch(/^backlog drain, 2 normalizers +10,000 +4\.00 +2,500 +0\.25 +1\.50 +200 MB \+ 150 MB$/);
    // Columns line up: every number column ends where its header ends.
    const end = (l: string, s: string): number => l.indexOf(s) + s.length;
    expect(end(lines[4]!, '2,500')).toBe(end(lines[0]!, 'events/s'));
    expect(end(lines[4]!, '1.50')).toBe(end(lines[0]!, 'join s'));
  });
});
