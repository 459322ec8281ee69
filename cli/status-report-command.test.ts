import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportRuntime } from '../app/jobs.js';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { repoRoot, tempDir } from '../test/support/harness.js';
import { statusScenario, STATUS_NOW, type StatusScenario } from '../test/support/status-report.js';
import type { SlackMessage } from '../workers/reports/slack.js';
import type { PortfolioReport } from '../workers/reports/portfolio.js';
import type { StatusReport } from '../workers/reports/status.js';
import { COMMANDS } from './commands.js';
import { runStatusReport } from './status-report-command.js';

const config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir: tempDir(), metrics: { timeZone: 'UTC' } } });

let s: StatusScenario;
beforeAll(async () => {
  s = await statusScenario();
});
afterAll(async () => {
  await s.store.close();
});

const collect = (): { stream: PassThrough; text: () => string } => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
};

/** Runs `ptel status-report` on the scenario's store with the clock at STATUS_NOW. */
async function statusReport(values: Record<string, string | boolean>, positionals: string[] = []) {
  const out = collect();
  const err = collect();
  const rt: ReportRuntime = { store: s.store, clock: fixedClock(STATUS_NOW), config, organisation: { org: s.config.org } };
  const code = await runStatusReport({ config, values, positionals, out: out.stream, err: err.stream }, (fn) => fn(rt));
  return { code, out: out.text(), err: err.text() };
}

describe('ptel status-report', () => {
  it('prints the last whole week as Markdown by default', async () => {
    const r = await statusReport({ program: 'payments' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(path.join(repoRoot, 'test/fixtures/status-report/payments-2026-W44.md'), 'utf8'));
  });

  it('prints the report as JSON for a week and an instant', async () => {
    const r = await statusReport({ program: 'payments', week: '2026-W44', 'as-of': '2026-10-29T12:00:00Z', format: 'json' });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as StatusReport;
    expect(doc.week.id).toBe('2026-W44');
    expect(doc.asOf).toBe('2026-10-29T12:00:00.000Z');
    expect(doc.accomplishments.deployments.items.map((i) => i.name)).toEqual(['checkout-api']);
  });

  it('prints the report as email-ready HTML with --format html', async () => {
    const r = await statusReport({ program: 'payments', format: 'html' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(r.out).toContain('<title>Payments status, week 2026-W44</title>');
    expect(r.out).toContain('<a href="https://acme.atlassian.net/browse/R-1"');
    expect(r.out).not.toContain('<script');
  });

  it('prints the report as a Slack Block Kit message with --format slack', async () => {
    const r = await statusReport({ program: 'payments', format: 'slack' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out) as SlackMessage;
    expect(m.text).toBe('Payments status, week 2026-W44: red, program confidence 0.42 (off track).');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Payments status, week 2026-W44', emoji: false } });
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    expect(m.blocks.filter((b) => b.type === 'divider')).toHaveLength(6);
    expect(r.out).toContain('<https://acme.atlassian.net/browse/R-1|R-1>');
  });

  it.each([
    [{ program: 'nope' }, "ptel status-report: no program 'nope'; programs: payments, growth\n"],
    [{}, 'ptel status-report: which program? give --program ID (ptel scopes lists them), or --portfolio for all of them\n'],
    [
      { program: 'payments', week: '2026-44' },
      "ptel status-report: --week '2026-44' is not an ISO week; expected YYYY-Www such as 2026-W44\n",
    ],
    [{ program: 'payments', week: '2027-W53' }, "ptel status-report: --week '2027-W53': 2027 has weeks 01 to 52\n"],
    [
      { program: 'payments', week: '2026-W46' },
      'ptel status-report: --week 2026-W46 starts 2026-11-09, after 2026-11-04T09:00:00Z: a report covers a week that has begun\n',
    ],
    [{ program: 'payments', format: 'pdf' }, "ptel status-report: --format 'pdf': expected md or html or slack or json\n"],
    [
      { program: 'payments', 'as-of': 'yesterday' },
      "ptel status-report: --as-of 'yesterday' is not an instant; use ISO 8601, e.g. 2026-10-31 or 2026-10-31T10:00:00Z\n",
    ],
  ])('refuses %j with exit 2 and says what is wrong', async (values, message) => {
    const r = await statusReport(values);
    expect(r.code).toBe(2);
    expect(r.err).toBe(message);
    expect(r.out).toBe('');
  });

  it('prints every program side by side with --portfolio, as Markdown by default', async () => {
    const r = await statusReport({ portfolio: true });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(path.join(repoRoot, 'test/fixtures/status-report/portfolio-2026-W44.md'), 'utf8'));
  });

  it('prints the portfolio for a week and an instant as JSON', async () => {
    const json = await statusReport({ portfolio: true, week: '2026-W44', 'as-of': '2026-10-29T12:00:00Z', format: 'json' });
    expect(json.code).toBe(0);
    const view = JSON.parse(json.out) as PortfolioReport;
    expect([view.week.id, view.asOf]).toEqual(['2026-W44', '2026-10-29T12:00:00.000Z']);
    expect(view.programs.map((p) => [p.program.id, p.milestonesAtRisk.total])).toEqual([
      ['payments', 2],
      ['growth', 0],
    ]);
  }, 60_000);

  it('prints the portfolio as email-ready HTML or a Slack message', async () => {
    const html = await statusReport({ portfolio: true, format: 'html' });
    expect(html.code).toBe(0);
    expect(html.out).toContain('<title>Portfolio status, week 2026-W44</title>');
    const slack = await statusReport({ portfolio: true, format: 'slack' });
    expect(slack.code).toBe(0);
    const m = JSON.parse(slack.out) as SlackMessage;
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Portfolio status, week 2026-W44', emoji: false } });
  }, 60_000);

  it.each([
    [
      { portfolio: true, program: 'payments' },
      'ptel status-report: --portfolio and --program together: give --program ID for one program, or --portfolio for all of them\n',
    ],
    [
      { portfolio: true, week: '2026-W46' },
      'ptel status-report: --week 2026-W46 starts 2026-11-09, after 2026-11-04T09:00:00Z: a report covers a week that has begun\n',
    ],
    [{ portfolio: true, week: 'W44' }, "ptel status-report: --week 'W44' is not an ISO week; expected YYYY-Www such as 2026-W44\n"],
    [{ portfolio: true, format: 'pdf' }, "ptel status-report: --format 'pdf': expected md or html or slack or json\n"],
  ])('refuses the portfolio with %j, exit 2, saying what is wrong', async (values, message) => {
    const r = await statusReport(values);
    expect(r.code).toBe(2);
    expect(r.err).toBe(message);
    expect(r.out).toBe('');
  });

  it('refuses a positional argument', async () => {
    const r = await statusReport({ program: 'payments' }, ['payments']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unexpected 'payments'");
  });

  it('is a command of ptel, with its options in its help', () => {
    const c = COMMANDS['status-report'];
    expect(c).toBeDefined();
    for (const o of ['program', 'portfolio', 'week', 'as-of', 'format', 'send', 'resend']) expect(c!.usage).toContain(`--${o}`);
    expect(c!.options?.['portfolio']).toEqual({ type: 'boolean' });
  });

  it('writes and sends a week with --send, once, and again with --resend', async () => {
    const dir = path.join(config.dataDir, 'exports', 'status', '2026-W44', 'payments');
    const first = await statusReport({ send: true, program: 'payments', week: '2026-W44' });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toBe(`week 2026-W44:\n  payments: written to ${dir}\n`);
    const printed = await statusReport({ program: 'payments', week: '2026-W44' });
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toBe(printed.out);
    expect(existsSync(path.join(config.dataDir, 'exports', 'status', '2026-W44', '_portfolio'))).toBe(false);

    const again = await statusReport({ send: true, program: 'payments', week: '2026-W44' });
    expect(again.code).toBe(0);
    expect(again.out).toBe('week 2026-W44:\n  payments: sent before to files; --resend sends again\n');
    const resent = await statusReport({ resend: true, program: 'payments', week: '2026-W44' });
    expect(resent.out).toBe(`week 2026-W44:\n  payments: written to ${dir}\n`);

    const portfolio = await statusReport({ send: true, portfolio: true, week: '2026-W44' });
    expect(portfolio.out).toBe(`week 2026-W44:\n  portfolio: written to ${path.join(path.dirname(dir), '_portfolio')}\n`);
  }, 120_000);

  it.each([
    [
      { send: true, format: 'md' },
      'ptel status-report: --format does not go with --send: a delivery writes every format and reads the store as it is now\n',
    ],
    [
      { send: true, 'as-of': '2026-11-01' },
      'ptel status-report: --as-of does not go with --send: a delivery writes every format and reads the store as it is now\n',
    ],
    [{ send: true, program: 'nope' }, "ptel status-report: no program 'nope'; programs: payments, growth\n"],
    [
      { send: true, week: '2026-W50' },
      'ptel status-report: --week 2026-W50 starts 2026-12-07, after 2026-11-04T09:00:00Z: a report covers a week that has begun\n',
    ],
  ])('refuses --send with %j, exit 2, saying what is wrong', async (values, message) => {
    const r = await statusReport(values);
    expect(r.err).toBe(message);
    expect(r.code).toBe(2);
  });
});
