import { writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/commands.js';
import { IMPORT_COMMANDS } from '../cli/import-command.js';
import { createLocalBus } from '../infra/bus/local.js';
import type { Bus } from '../infra/bus/types.js';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import { PipelineMetrics } from '../infra/observability/metrics.js';
import { readTopic } from '../test/support/bus.js';
import { queryRows, quietLogger, tempDir, textSink } from '../test/support/harness.js';
import { importFile, ImportError, type ImportRuntime } from './import.js';
import { startServe } from './roles.js';
import { createRuntime } from './runtime.js';

const AT = '2026-12-07T12:00:00.000Z';
const HEADER = 'survey,program,response_id,submitted_at,score,comment_count';
const answer = (id: string, score: number | string = 4): string => `engineering_sentiment,payments,${id},2026-11-30T17:00:00Z,${score},1`;

function file(name: string, text: string): string {
  const p = path.join(tempDir(), name);
  writeFileSync(p, text);
  return p;
}

const buses: Bus[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});

function runtime(): ImportRuntime {
  const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
  buses.push(bus);
  const config = loadConfig({ env: {}, cwd: tempDir() });
  return { bus, config, clock: fixedClock(Date.parse(AT)), metrics: new PipelineMetrics({ defaultMetrics: false }) };
}

describe('importing a file of rows', () => {
  it('publishes every row of a good file as ingest.<kind> events from import/<kind>', async () => {
    const rt = runtime();
    const r = await importFile(rt, 'survey_response', file('answers.csv', `\uFEFF${HEADER}\r\n${answer('a')}\r\n${answer('b', 2)}\r\n`));
    expect(r).toMatchObject({ kind: 'survey_response', format: 'csv', rows: 2, published: 2, refused: [], heldBack: false });
    const events = await readTopic(rt.bus, 'raw.ingest');
    expect(events.map((e) => [e.type, e.connector, e.ingesttime])).toEqual([
      ['ingest.survey_response', 'import/survey_response', AT],
      ['ingest.survey_response', 'import/survey_response', AT],
    ]);
  });

  it('any refused row: every one listed with its line, nothing published', async () => {
    const rt = runtime();
    const csv = [HEADER, answer('a'), answer('b', 7), `"multi\nline",payments,c,2026-11-30T17:00:00Z,3,0`, answer('d', 'x')].join('\n');
    const r = await importFile(rt, 'survey_response', file('answers.csv', csv));
    expect(r).toMatchObject({ rows: 4, published: 0, heldBack: true });
    expect(r.refused).toEqual([
      "row 2 (line 3): field 'score': expected a whole number from 1 to 5",
      "row 3 (line 4): field 'survey': expected one of stakeholder_satisfaction, engineering_sentiment",
      "row 4 (line 6): field 'score': expected a whole number from 1 to 5",
    ]);
    expect(await readTopic(rt.bus, 'raw.ingest')).toEqual([]);
  });

  it('with skipBad the good rows are published and the bad ones listed', async () => {
    const rt = runtime();
    const r = await importFile(rt, 'survey_response', file('answers.csv', [HEADER, answer('a'), answer('b', 0), answer('c')].join('\n')), {
      skipBad: true,
    });
    expect(r).toMatchObject({
      rows: 3,
      published: 2,
      heldBack: false,
      refused: ["row 2 (line 3): field 'score': expected a whole number from 1 to 5"],
    });
    expect(await readTopic(rt.bus, 'raw.ingest')).toHaveLength(2);
  });

  it('the same file imported again publishes the same event ids', async () => {
    const rt = runtime();
    const yaml = file(
      'release-2026.10.yaml',
      [
        '- program: payments',
        '  release: 2026.10',
        '  check: Load test',
        '  status: pass',
        '  go_no_go: 2026-10-20',
        '- {program: payments, release: 2026.10, check: Runbook, status: waived, go_no_go: 2026-10-20, rationale: "same as 2026.09"}',
      ].join('\n'),
    );
    await importFile(rt, 'readiness_check', yaml);
    await importFile(rt, 'readiness_check', yaml);
    const events = await readTopic(rt.bus, 'raw.ingest');
    expect(events).toHaveLength(4);
    expect(events.slice(2).map((e) => e.id)).toEqual(events.slice(0, 2).map((e) => e.id));
    expect(events.map((e) => e.subject).slice(0, 2)).toEqual([
      'readiness/payments/2026.10/Load test',
      'readiness/payments/2026.10/Runbook',
    ]);
  });

  it('JSON arrays and NDJSON; rows refused by index and by line', async () => {
    const rt = runtime();
    const actual = (value: unknown): string =>
      JSON.stringify({ program: 'payments', outcome: 'latency_p95', value, observed_at: '2026-11-01T00:00:00Z' });
    const json = await importFile(rt, 'outcome_actual', file('actuals.json', `[\n${actual(1)},\n${actual('fast')}\n]`));
    expect(json.refused).toEqual(["row 2 (index 1, line 3): field 'value': expected a number"]);
    const ndjson = await importFile(rt, 'outcome_actual', file('actuals.jsonl', `${actual(1)}\n${actual(2)}\n`));
    expect(ndjson).toMatchObject({ format: 'ndjson', published: 2 });
  });

  it('refuses what it cannot import at all, saying why', async () => {
    const rt = runtime();
    await expect(importFile(rt, 'budgets', file('b.csv', 'a\n1'))).rejects.toThrow(
      new ImportError(
        "unknown kind 'budgets'; the kinds are readiness_check, survey_response, outcome_target, outcome_actual, adopter, cost_row",
      ),
    );
    await expect(importFile(rt, 'adopter', file('adopters.xlsx', ''))).rejects.toThrow(
      /the file's form is told by its extension, one of \.csv/,
    );
    await expect(importFile(rt, 'adopter', path.join(tempDir(), 'none.csv'))).rejects.toThrow(/^cannot read .*none\.csv: no such file$/);
    await expect(importFile(rt, 'adopter', file('adopters.csv', 'program,adopter\n"payments,x\n'))).rejects.toThrow(
      /adopters\.csv: line 2: a quoted field is never closed/,
    );
    await expect(importFile(rt, 'adopter', file('adopters.csv', 'program,adopter,target_date\n'))).rejects.toThrow(
      /adopters\.csv: no adopter rows in it/,
    );
  });
});

describe('ptel import (embedded mode: published, normalized and stored)', () => {
  let config: Config;
  let dataDir: string;
  beforeAll(() => {
    dataDir = tempDir();
    config = loadConfig({ env: { PTEL_DATA_DIR: dataDir, PTEL_LOG_LEVEL: 'silent' }, cwd: tempDir() });
  });
  const ptel = async (...args: string[]): Promise<{ code: number; text: string }> => {
    const t = textSink();
    const skip = args.includes('--skip-bad');
    const positionals = args.filter((a) => a !== '--skip-bad');
    const code = await IMPORT_COMMANDS['import']!.run({
      config,
      values: skip ? { 'skip-bad': true } : {},
      positionals,
      out: t.out,
      err: t.out,
      clock: fixedClock(Date.parse(AT)),
    });
    return { code, text: t.text() };
  };
  /** The survey answers raw_events holds, each event once (FINAL: as the store converges, whatever parts are not merged yet). */
  const storedAnswers = async (): Promise<number> => {
    const rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(Date.parse(AT)) });
    try {
      const rows = await queryRows<{ n: string }>(
        rt.store,
        "SELECT count() AS n FROM raw_events FINAL WHERE type = 'ingest.survey_response'",
      );
      return Number(rows[0]?.n ?? 0);
    } finally {
      await rt.close();
    }
  };
  it('all or nothing, --skip-bad, and a re-import stores nothing twice', async () => {
    const bad = file('answers.csv', [HEADER, answer('a'), answer('b', 9), answer('c')].join('\n'));
    const refused = await ptel('survey_response', bad);
    expect(refused).toEqual({
      code: 1,
      text:
        'ptel import: 1 of 3 rows of ' +
        bad +
        " refused, nothing imported (--skip-bad imports the other 2):\n  row 2 (line 3): field 'score': expected a whole number from 1 to 5\n",
    });
    // Checked before anything is started: a refused file opens neither the bus nor the store.
    expect(readdirSync(dataDir)).toEqual([]);
    expect(await storedAnswers()).toBe(0);

    const skipped = await ptel('survey_response', bad, '--skip-bad');
    expect(skipped).toEqual({
      code: 0,
      text: `imported 2 survey_response rows from ${bad} (1 skipped, listed below); stored\nskipped:\n  row 2 (line 3): field 'score': expected a whole number from 1 to 5\n`,
    });
    expect(await storedAnswers()).toBe(2);

    const good = file('answers.csv', [HEADER, answer('a'), answer('c')].join('\n'));
    expect(await ptel('survey_response', good)).toEqual({ code: 0, text: `imported 2 survey_response rows from ${good}; stored\n` });
    expect(await storedAnswers()).toBe(2);

    expect(await ptel('survey_response')).toMatchObject({ code: 2 });
    expect(await ptel('budgets', good)).toMatchObject({
      code: 2,
      text: expect.stringMatching(/^ptel import: unknown kind 'budgets'/) as string,
    });
  });
});

describe('ptel doctor', () => {
  it('says which kinds the intake serves, and the variable that turns each other one on', async () => {
    const t = textSink();
    const config = loadConfig({ env: { PTEL_INGEST_ADOPTER_TOKEN: 'x' }, cwd: tempDir() });
    await COMMANDS['doctor']!.run({ config, values: {}, positionals: [], out: t.out, err: t.out });
    expect(t.text()).toContain(
      'intake (/ingest/<kind>): readiness_check off (PTEL_INGEST_READINESS_CHECK_TOKEN unset), survey_response off (PTEL_INGEST_SURVEY_RESPONSE_TOKEN unset), ' +
        'outcome_target off (PTEL_INGEST_OUTCOME_TARGET_TOKEN unset), outcome_actual off (PTEL_INGEST_OUTCOME_ACTUAL_TOKEN unset), adopter on, ' +
        'cost_row off (PTEL_INGEST_COST_ROW_TOKEN unset)\n',
    );
  });
});

describe('ptel serve answers the intake', () => {
  it('POST /ingest/<kind> with its token: the rows on the bus of the data folder', async () => {
    const config = loadConfig({
      env: { PTEL_DATA_DIR: tempDir(), PTEL_INGEST_ADOPTER_TOKEN: 'adopters' },
      overrides: { http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } },
      cwd: tempDir(),
    });
    const rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(Date.parse(AT)) });
    try {
      const role = await startServe(rt);
      try {
        const rows = 'program,adopter,target_date\npayments,team-ledger,2026-12-31\npayments,acme,2027-01-31\n';
        const r = await fetch(`${role.url!}/ingest/adopter`, {
          method: 'POST',
          headers: { authorization: 'Bearer adopters', 'content-type': 'text/csv' },
          body: rows,
        });
        expect([r.status, await r.json()]).toEqual([202, { accepted: 2 }]);
      } finally {
        await role.stop();
      }
      expect((await readTopic(rt.bus, 'raw.ingest')).map((e) => [e.subject, e.connector])).toEqual([
        ['adopter/payments/team-ledger', 'ingest/adopter'],
        ['adopter/payments/acme', 'ingest/adopter'],
      ]);
    } finally {
      await rt.close();
    }
  });
});
