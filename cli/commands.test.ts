import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportNow, linkNow, stallAlertsNow } from '../app/jobs.js';
import { storeStatus } from '../app/roles.js';
import { createRuntime, type Runtime } from '../app/runtime.js';
import { fixedClock, type Clock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import { quietLogger, tempDir, textSink } from '../test/support/harness.js';
import { kpiSummary, type KpiRow } from '../workers/metrics/queries.js';
import { COMMANDS, RUN_LOG_FILE } from './commands.js';
import { formatValue } from './summary.js';

/** The instant `run --once` runs at; the demo organisation's history ends on its day. */
const T0 = new Date('2026-12-06T12:00:00.000Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

/** One stream for a command's stdout and stderr, in the order they were written, as a terminal shows them. */
const terminal = textSink;

async function ptel(
  config: Config,
  name: string,
  values: Record<string, string | boolean>,
  clock: Clock,
): Promise<{ code: number; text: string }> {
  const t = terminal();
  const code = await COMMANDS[name]!.run({ config, values, positionals: [], out: t.out, err: t.out, clock });
  return { code, text: t.text() };
}

const isLogLine = (line: string): boolean => line.startsWith('{"level"');

/** The org KPIs of the last complete month and the stored event count, as the store holds them at `now`. */
async function stored(config: Config, now: Date): Promise<{ kpis: Map<string, KpiRow>; events: number }> {
  const rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(now) });
  try {
    const kpis = await kpiSummary(rt.store, { now, tz: config.metrics.timeZone });
    const events = (await storeStatus(rt)).events.reduce((n, e) => n + e.events, 0);
    return { kpis: new Map(kpis.map((k) => [k.metric, k])), events };
  } finally {
    await rt.close();
  }
}

describe('ptel run --once ends with a summary a person reads; ptel status says how fresh everything is', () => {
  let dataDir: string;
  let config: Config;
  let first: { code: number; text: string };
  beforeAll(async () => {
    dataDir = tempDir('ptel-cli-');
    config = loadConfig({
      env: { PTEL_DATA_DIR: dataDir },
      overrides: { 'demo.months': 2, 'demo.teams': 1, 'log.level': 'info' },
      cwd: tempDir(),
    });
    first = await ptel(config, 'run', { once: true }, fixedClock(T0));
  }, 120_000);

  it('at the default log level, keeps the run log in the data folder and shows only the summary', () => {
    expect(first.code, first.text).toBe(0);
    const lines = first.text.trimEnd().split('\n');
    expect(lines.filter(isLogLine)).toEqual([]);
    const log = readFileSync(path.join(dataDir, RUN_LOG_FILE), 'utf8');
    expect(log).toContain('"msg":"links recomputed"');
    expect(log).toContain('"msg":"metrics recomputed"');
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(lines[0]).toMatch(/^source: demo organisation \(/);
    expect(lines.at(-1)).toBe(
      `Next: ${'list' in COMMANDS ? 'ptel list milestones, ptel list risks, ' : ''}ptel metrics show, ptel alerts list, ptel export, ptel status-report --portfolio, ptel status`,
    );
    // The week's status reports are written under the export folder, one folder per program and the portfolio.
    const reports = lines.find((l) => l.startsWith('Status reports:')) ?? '(no Status reports line)';
    expect(reports).toMatch(
      new RegExp(
        `^Status reports: week \\d{4}-W\\d\\d of 1 program and the portfolio written to ${path.join(dataDir, 'exports', 'status')}/\\d{4}-W\\d\\d/; 0 messages sent \\(no channel is configured\\)$`,
      ),
    );
    expect(lines.at(-2)).toBe(`Data: ${dataDir}; the run's log: ${path.join(dataDir, RUN_LOG_FILE)}`);
    // The per-source table and the data-quality notes are ptel status's.
    expect(first.text).not.toContain('github.pull_request');
  });

  it('says in units what was ingested and what the org delivered in the last complete month, as the store holds it', async () => {
    const { kpis, events } = await stored(config, T0);
    const line = (prefix: string): string => first.text.split('\n').find((l) => l.startsWith(prefix)) ?? `(no ${prefix} line)`;
    expect(line('Ingested:')).toMatch(
      new RegExp(`^Ingested: ${events.toLocaleString('en-US')} events from 4 sources \\(0 dead letters\\) in \\d+\\.\\d s$`),
    );
    expect(events).toBeGreaterThan(1000);
    expect(line('Model:')).toMatch(/^Model: \d+ repositories, [\d,]+ pull requests, [\d,]+ commits, [\d,]+ deployments/);
    expect(line('Links:')).toMatch(
      /^Links: [\d,]+ commits to pull requests, [\d,]+ commits to deployments, \d+ of \d+ incidents to a deployment/,
    );
    // The registers as the run left them, one phrase each.
    expect(line('Now:')).toMatch(
      /^Now: \d+ of \d+ open milestones overdue or slipped(, \d+ of \d+ forecast off track)?; \d+ open risks \(\d+ high, \d+ of them unowned\); \d+ of \d+ open decisions past their target; \d+ of \d+ open action items overdue; \d+ of \d+ blocking links stalled \(\d+ across programs\)$/,
    );

    expect(kpis.get('change_failure_rate')?.month).toBe('2026-11-01');
    const deployments = kpis.get('deployment_frequency')!.value!;
    expect(deployments).toBeGreaterThan(0);
    const delivery = line('Delivery (org, 2026-11):');
    expect(delivery).toContain(
      `deployment frequency ${(deployments / 30).toFixed(1)}/day (${deployments} ${deployments === 1 ? 'deployment' : 'deployments'})`,
    );
    // Each KPI the store holds for the month, in its unit (a ratio as a percent, hours with h, a count whole).
    const groups: Array<[string, Array<[metric: string, label: string]>]> = [
      [
        delivery,
        [
          ['change_lead_time_p50', 'lead time p50'],
          ['change_failure_rate', 'change failure rate'],
          ['failed_deployment_recovery_time_p50', 'recovery time p50'],
        ],
      ],
      [
        line('Quality (org, 2026-11):'),
        [
          ['defect_escape_rate', 'defect escape rate'],
          ['incident_count', 'incidents'],
          ['ci_success_rate', 'CI success'],
        ],
      ],
      [
        line('Program (org, 2026-11):'),
        [
          ['milestone_on_time_rate_latest', 'milestones on time'],
          ['risks_open', 'open risks'],
          ['dependency_stalls', 'stalled dependencies'],
        ],
      ],
      [
        line('Outcomes (org, 2026-11):'),
        [
          ['release_readiness_pass_rate', 'readiness checks passed'],
          ['outcome_attainment_rate', 'outcome targets met'],
          ['engineering_sentiment_net', 'engineering sentiment (net)'],
          ['unallocated_cost', 'cost rows allocated to no program'],
        ],
      ],
    ];
    for (const [text, items] of groups) {
      for (const [metric, label] of items) {
        const k = kpis.get(metric);
        if (k === undefined) expect(text).not.toContain(`${label} `);
        else expect(text).toContain(`${label} ${formatValue(k.value, k.unit)}`);
      }
    }
    expect(formatValue(kpis.get('change_failure_rate')!.value, 'ratio')).toMatch(/^\d+\.\d%$/);
    expect(delivery).toMatch(/lead time p50 \d+\.\d h/);
    expect(line('Quality (org, 2026-11):')).toMatch(/incidents \d+(,|$)/);
    expect(line('Alerts:')).toMatch(
      /^Alerts: \d+ dependenc(y|ies) stalled now; \d+ alerts? opened, 0 resolved, 0 messages sent \(no alert channel is configured\)$/,
    );
  });

  it('at log level debug, writes every log line of the run before the summary, and none after it', async () => {
    const again = await ptel({ ...config, log: { level: 'debug' } }, 'run', { once: true }, fixedClock(T0));
    expect(again.code, again.text).toBe(0);
    const lines = again.text.trimEnd().split('\n');
    const logs = lines.flatMap((l, i) => (isLogLine(l) ? [i] : []));
    expect(logs.length).toBeGreaterThan(1);
    expect(again.text).toContain('"msg":"links recomputed"');
    expect(again.text).toContain('"msg":"metrics recomputed"');
    const summaryAt = lines.findIndex((l) => l.startsWith('Ingested:'));
    expect(summaryAt).toBeGreaterThan(0);
    expect(Math.max(...logs)).toBeLessThan(summaryAt);
    expect(lines.at(-1)).toMatch(/^Next: /);
    expect(lines.at(-2)).toBe(`Data: ${dataDir}`);
  }, 120_000);

  it('ptel status says the data is the demo organisation and when each job last ran, with how long ago', async () => {
    // The linker, the stall detector and the export run after the run --once, each at its own instant.
    const rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(T0) });
    const on = (d: Date): Runtime => ({ ...rt, clock: fixedClock(d) });
    try {
      await linkNow(on(at(5)));
      await stallAlertsNow(on(at(20)));
      await exportNow(on(at(30)));
    } finally {
      await rt.close();
    }
    const { events } = await stored(config, T0);
    const r = await ptel(config, 'status', {}, fixedClock(at(65)));
    expect(r.code, r.text).toBe(0);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe(
      `data: the demo organisation, generated because no source is configured (${events.toLocaleString('en-US')} events stored); ` +
        'configure sources (see ptel.example.yaml) to pull real data',
    );
    expect(r.text).toContain('github.pull_request'); // the per-source table
    const exportDir = path.join(dataDir, 'exports', '2026-11');
    expect(existsSync(path.join(exportDir, 'kpis.csv'))).toBe(true);
    const header = lines.indexOf('freshness at 2026-12-06 13:05 UTC:');
    expect(header).toBeGreaterThan(0);
    const block = lines.slice(header).filter((l) => /^ {2}(pulls|linker|metrics|stall detector|monthly export) /.test(l));
    expect(block).toEqual([
      '  pulls           never',
      expect.stringMatching(
        /^ {2}linker {10}last run 2026-12-06 12:05 \(1 h ago\): 0 link rows written, 0 retracted \(\d+ deployments, \d+ commits in pull requests\)$/,
      ),
      expect.stringMatching(
        /^ {2}metrics {9}last run 2026-12-06 12:00 \(1 h 5 min ago\): full: \d+ values of \d+ metrics, 2026-\d\d-\d\d \.\. 2026-12-07$/,
      ),
      expect.stringMatching(
        /^ {2}stall detector {2}last run 2026-12-06 12:20 \(45 min ago\): \d+ links stalled, 0 alerts opened, 0 resolved, 0 messages sent$/,
      ),
      expect.stringMatching(
        new RegExp(
          `^ {2}monthly export {2}last run 2026-12-06 12:30 \\(35 min ago\\): 2026-11: \\d+ values of \\d+ scopes in ${exportDir}$`,
        ),
      ),
    ]);

    // As of an instant between the linker and the stall detector: what had run by then, counted from then.
    const past = await ptel(config, 'status', { 'as-of': '2026-12-06T12:10:00Z' }, fixedClock(at(65)));
    expect(past.code, past.text).toBe(0);
    expect(past.text).toContain('freshness at 2026-12-06 12:10 UTC:');
    expect(past.text).toMatch(/^ {2}linker {10}last run 2026-12-06 12:05 \(5 min ago\)/m);
    expect(past.text).toMatch(/^ {2}stall detector {2}last run 2026-12-06 12:00 \(10 min ago\)/m);
    expect(past.text).toMatch(/^ {2}monthly export {2}never \(exports go to /m);
  }, 120_000);
});
