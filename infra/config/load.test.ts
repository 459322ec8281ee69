import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/harness.js';
import { ConfigError, loadConfig } from './load.js';
import { pullSettingsOf } from './schema.js';

function fileWith(text: string): string {
  const file = path.join(tempDir(), 'ptel.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('defaults to embedded mode with no file at all', () => {
    const cfg = loadConfig({ env: {}, cwd: tempDir() });
    expect(cfg.mode).toBe('embedded');
    expect(cfg.clickhouse.engine).toBe('embedded');
    expect(cfg.configPath).toBeUndefined();
    expect(path.isAbsolute(cfg.dataDir)).toBe(true);
  });

  it('reads the file, resolves dataDir beside it, and lets the environment override it', () => {
    const file = fileWith(`mode: distributed
dataDir: ./state
kafka:
  brokers: [k1:9092, k2:9092]
clickhouse:
  url: http://ch:8123
org:
  programs:
    - id: payments
      name: Payments
      teams:
        - id: checkout
          name: Checkout
          repositories: [acme/checkout]
`);
    const cfg = loadConfig({ file, env: { PTEL_KAFKA_BROKERS: 'a:1,b:2', PTEL_CLICKHOUSE_PASSWORD: 's3cret' } });
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(cfg.clickhouse.url).toBe('http://ch:8123');
    expect(cfg.dataDir).toBe(path.join(path.dirname(file), 'state'));
    expect(cfg.secrets.clickhousePassword).toBe('s3cret');
    expect(cfg.org.programs[0]!.teams[0]!.jira).toEqual({ projects: [], components: [] });
  });

  it('names the key and the fix for a wrong value', () => {
    const file = fileWith('mode: embeded\n');
    const err = errorOf(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain(file);
    expect(err.message).toContain("key 'mode'");
    expect(err.message).toContain('"embedded"');
  });

  it('suggests the key that was meant for a misspelt one', () => {
    const err = errorOf(() => loadConfig({ file: fileWith('kafak:\n  brokers: [a:1]\n'), env: {} }));
    expect(err.message).toContain("unknown key 'kafak'; did you mean 'kafka'?");
  });

  it('points into nested lists', () => {
    const err = errorOf(() =>
      loadConfig({
        file: fileWith(
          'org:\n  programs:\n    - id: p\n      name: P\n      teams:\n        - id: t\n          name: T\n          repositories: [not-a-repo]\n',
        ),
        env: {},
      }),
    );
    expect(err.message).toContain("key 'org.programs[0].teams[0].repositories[0]'");
    expect(err.message).toContain('owner/name');
  });

  it('reports YAML syntax errors with line and column', () => {
    const err = errorOf(() => loadConfig({ file: fileWith('mode: embedded\nkafka:\n  brokers: [a:1\n'), env: {} }));
    expect(err.message).toMatch(/line \d+, column \d+/);
  });

  it('refuses secrets in the file and names the variable to use', () => {
    const err = errorOf(() => loadConfig({ file: fileWith('clickhouse:\n  url: http://x:8123\n  password: hunter2\n'), env: {} }));
    expect(err.message).toContain("'clickhouse.password' is a secret");
    expect(err.message).toContain('PTEL_CLICKHOUSE_PASSWORD');
    expect(err.message).not.toContain('hunter2');
  });

  it('requires a ClickHouse URL in distributed mode unless the engine is embedded', () => {
    expect(errorOf(() => loadConfig({ env: { PTEL_MODE: 'distributed' }, cwd: tempDir() })).message).toContain(
      "'clickhouse.url' is required",
    );
    const cfg = loadConfig({ env: { PTEL_MODE: 'distributed', PTEL_CLICKHOUSE_ENGINE: 'embedded' }, cwd: tempDir() });
    expect(cfg.clickhouse.engine).toBe('embedded');
  });

  it('takes a ClickHouse cluster from PTEL_CLICKHOUSE_CLUSTER, for a server only', () => {
    const env = { PTEL_MODE: 'distributed', PTEL_CLICKHOUSE_URL: 'http://ch:8123', PTEL_CLICKHOUSE_CLUSTER: '{cluster}' };
    expect(loadConfig({ env, cwd: tempDir() }).clickhouse.cluster).toBe('{cluster}');
    expect(
      loadConfig({ env: { PTEL_MODE: 'distributed', PTEL_CLICKHOUSE_URL: 'http://ch:8123' }, cwd: tempDir() }).clickhouse.cluster,
    ).toBeUndefined();
    expect(errorOf(() => loadConfig({ env: { PTEL_CLICKHOUSE_CLUSTER: 'ptel' }, cwd: tempDir() })).message).toContain(
      "key 'clickhouse.cluster' ('ptel') needs a ClickHouse server (clickhouse.engine 'server')",
    );
    expect(errorOf(() => loadConfig({ env: { ...env, PTEL_CLICKHOUSE_CLUSTER: "a' b" }, cwd: tempDir() })).message).toContain(
      'expected a cluster name',
    );
  });

  it('rejects duplicate team ids across programs', () => {
    const err = errorOf(() =>
      loadConfig({
        file: fileWith(
          'org:\n  programs:\n    - {id: a, name: A, teams: [{id: t1, name: T}]}\n    - {id: b, name: B, teams: [{id: t1, name: T}]}\n',
        ),
        env: {},
      }),
    );
    expect(err.message).toContain("team id 't1' is already used at programs[0].teams[0]");
  });

  it('reads a budget for one month or for a range of months, and refuses two budgets for one month of a program', () => {
    const org = (budgets: string) => `org:\n  programs:\n    - {id: a, name: A, teams: [{id: t1, name: T}], budgets: ${budgets}}\n`;
    const cfg = loadConfig({
      file: fileWith(
        org(
          '[{month: 2026-01, amount: 5, currency: USD}, {from: 2026-02, to: 2026-06, amount: 4, currency: USD}, {from: 2026-07, amount: 3, currency: USD}]',
        ),
      ),
      env: {},
    });
    expect(cfg.org.programs[0]!.budgets!.map((b) => [b.month, b.from, b.to])).toEqual([
      ['2026-01', undefined, undefined],
      [undefined, '2026-02', '2026-06'],
      [undefined, '2026-07', undefined],
    ]);
    const overlap = errorOf(() =>
      loadConfig({
        file: fileWith(org('[{from: 2026-01, amount: 5, currency: USD}, {month: 2026-09, amount: 4, currency: USD}]')),
        env: {},
      }),
    );
    expect(overlap.message).toContain("key 'org.programs[0].budgets[1]'");
    expect(overlap.message).toContain('covers months that programs[0].budgets[0] already budgets');
    const both = errorOf(() => loadConfig({ file: fileWith(org('[{month: 2026-01, from: 2026-01, amount: 5, currency: USD}]')), env: {} }));
    expect(both.message).toContain('either month (one month) or from and to (a range of months), not both');
    const backwards = errorOf(() =>
      loadConfig({ file: fileWith(org('[{from: 2026-05, to: 2026-01, amount: 5, currency: USD}]')), env: {} }),
    );
    expect(backwards.message).toContain("key 'org.programs[0].budgets[0].to'");
    expect(backwards.message).toContain('to 2026-01 is before from 2026-05');
  });

  it('says which file is missing', () => {
    const err = errorOf(() => loadConfig({ file: '/nonexistent/ptel.yaml', env: {} }));
    expect(err.message).toContain('/nonexistent/ptel.yaml does not exist');
  });
});

describe('the example configuration', () => {
  it('is valid as shipped', () => {
    const cfg = loadConfig({ file: path.join(import.meta.dirname, '../../ptel.example.yaml'), env: {} });
    expect(cfg.org.programs[0]!.teams[0]!.repositories).toEqual(['acme/checkout-api', 'acme/checkout-web']);
  });
});

describe('wrong types', () => {
  it('says what type was expected and what was given', () => {
    const err = errorOf(() => loadConfig({ file: fileWith('normalizer:\n  flushRows: many\n'), env: {} }));
    expect(err.message).toContain("key 'normalizer.flushRows'");
    expect(err.message).toContain('expected number');
    expect(err.message).toContain('(got "many")');
  });

  it('says a missing required key is required', () => {
    const err = errorOf(() => loadConfig({ file: fileWith('org:\n  programs:\n    - id: p\n      teams: [{id: t, name: T}]\n'), env: {} }));
    expect(err.message).toContain("key 'org.programs[0].name' is required");
  });
});

describe('pull settings', () => {
  it('are read the same way for every pulled source, and are absent for push-only ones', () => {
    const cfg = loadConfig({ env: {}, cwd: tempDir(), overrides: { 'sources.github': { concurrency: 2 }, 'sources.cdevents': {} } });
    expect(pullSettingsOf(cfg, 'github')).toMatchObject({ enabled: true, intervalMinutes: 15, concurrency: 2, initialDays: 180 });
    expect(pullSettingsOf(cfg, 'cdevents')).toBeUndefined();
    expect(pullSettingsOf(cfg, 'jira')).toBeUndefined();
  });
});

describe('the example configuration, sources', () => {
  it('configures GitHub, Jira and PagerDuty, which then only need their credentials', () => {
    const cfg = loadConfig({ file: path.join(import.meta.dirname, '../../ptel.example.yaml'), env: {} });
    expect(Object.keys(cfg.sources).sort()).toEqual(['github', 'jira', 'pagerduty']);
    expect(cfg.sources.jira?.deletionScanMinutes).toBe(360);
    expect(cfg.webhooks.maxBodyBytes).toBe(5_242_880);
  });
});

describe('alert channel secrets', () => {
  const channels = [
    'alerts:',
    '  channels:',
    '    checkout-slack: { type: slack, urlEnv: PTEL_SLACK_CHECKOUT_URL }',
    '    audit: { type: webhook, url: "https://hooks.example.com/ptel", secretEnv: PTEL_ALERT_WEBHOOK_SECRET }',
    '    platform-pager: { type: pagerduty, routingKeyEnv: PTEL_PD_PLATFORM_KEY }',
    '  defaultChannels: [audit]',
  ].join('\n');

  it('are read at load, from the variable each channel names', () => {
    const cfg = loadConfig({
      file: fileWith(channels),
      env: {
        PTEL_SLACK_CHECKOUT_URL: ' https://hooks.slack.com/services/T/B/x\n',
        PTEL_ALERT_WEBHOOK_SECRET: 'hook-secret',
        PTEL_PD_PLATFORM_KEY: 'R0UTINGKEY0123456789ABCDEFGHIJKL',
      },
    });
    expect(cfg.secrets.alertChannels).toEqual({
      'checkout-slack': 'https://hooks.slack.com/services/T/B/x',
      audit: 'hook-secret',
      'platform-pager': 'R0UTINGKEY0123456789ABCDEFGHIJKL',
    });
  });

  it('refuse a configured channel whose variable is unset or empty, naming the key and the variable', () => {
    const file = fileWith(channels);
    const err = errorOf(() =>
      loadConfig({ file, env: { PTEL_SLACK_CHECKOUT_URL: 'https://hooks.slack.com/services/T/B/x', PTEL_ALERT_WEBHOOK_SECRET: '  ' } }),
    );
    expect(err.problems).toEqual([
      `${file}: key 'alerts.channels.audit.secretEnv' names PTEL_ALERT_WEBHOOK_SECRET, which is empty; ` +
        "set PTEL_ALERT_WEBHOOK_SECRET to the channel's signing secret, or remove the channel",
      `${file}: key 'alerts.channels.platform-pager.routingKeyEnv' names PTEL_PD_PLATFORM_KEY, which is not set; ` +
        "set PTEL_PD_PLATFORM_KEY to the channel's PagerDuty integration routing key, or remove the channel",
    ]);
    expect(err.message).toContain("key 'alerts.channels.audit.secretEnv' names PTEL_ALERT_WEBHOOK_SECRET");

    const slack = errorOf(() => loadConfig({ file, env: { PTEL_ALERT_WEBHOOK_SECRET: 's', PTEL_PD_PLATFORM_KEY: 'k' } }));
    expect(slack.problems).toEqual([
      `${file}: key 'alerts.channels.checkout-slack.urlEnv' names PTEL_SLACK_CHECKOUT_URL, which is not set; ` +
        "set PTEL_SLACK_CHECKOUT_URL to the channel's incoming webhook URL, or remove the channel",
    ]);
  });

  it('are not asked for when no channel is configured', () => {
    const cfg = loadConfig({ file: fileWith('alerts:\n  channels: {}\n'), env: {} });
    expect(cfg.secrets.alertChannels).toEqual({});
  });
});
