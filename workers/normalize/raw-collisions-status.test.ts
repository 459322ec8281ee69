import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../app/runtime.js';
import { COMMANDS } from '../../cli/commands.js';
import { rawEventBusMessage } from '../../connectors/core/publish.js';
import { issueRecord } from '../../connectors/jira/records.js';
import * as S from '../../connectors/jira/schemas.js';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import { mapContext } from '../../mapping/registry.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { quietLogger, repoRoot, tempDir } from '../../test/support/harness.js';
import { eventsOf } from '../../test/support/mapping.js';
import { createBatchHandler } from './normalizer.js';
import { COLLISION_FIELD, COLLISION_PROBLEM } from './quality.js';

const delivery = (name: string): RawEvent => {
  const body = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/jira', name), 'utf8')) as { issue: unknown };
  return eventsOf([issueRecord('acme.atlassian.net', S.issue.parse(body.issue), body)], 'webhook/jira')[0]!;
};

describe('ptel status', () => {
  it('lists the event ids that arrived with differing payloads among the data-quality notes, once per id', async () => {
    const config = loadConfig({ env: { PTEL_DATA_DIR: tempDir('ptel-collisions-') }, overrides: {}, cwd: tempDir() });
    const at = new Date('2026-06-01T10:00:00.000Z');
    const rt = await createRuntime(config, { logger: quietLogger(), clock: fixedClock(at) });
    // Two real deliveries for BUG-15 with one fields.updated (reassigned, then commented on), each
    // delivered twice, through two batches.
    const [reassigned, commented] = [delivery('reassigned_v2.json'), delivery('commented_v2.json')];
    expect(reassigned.id).toBe(commented.id);
    try {
      const handle = createBatchHandler({
        bus: rt.bus,
        writer: rt.writer,
        registry: createMapperRegistry(),
        metrics: rt.metrics,
        logger: rt.logger,
        context: mapContext(),
        groupId: 'normalizer',
        clock: rt.clock,
      });
      let offset = 0;
      for (const events of [
        [reassigned, commented],
        [commented, reassigned],
      ]) {
        const messages = events.map((e) => rawEventBusMessage(e, offset++));
        await handle({ topic: 'raw.jira', partition: 0, messages, lag: 0 }, { heartbeat: () => Promise.resolve() });
      }
    } finally {
      await rt.close();
    }

    let text = '';
    const out = new Writable({
      write(chunk: Buffer | string, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const code = await COMMANDS['status']!.run({ config, values: {}, positionals: [], out, err: out, clock: fixedClock(at) });
    expect(code, text).toBe(0);
    const lines = text.split('\n');
    const row = lines.filter((l) => l.includes(COLLISION_FIELD));
    expect(row, text).toHaveLength(1);
    expect(row[0]!.split(/\s{2,}/).map((c) => c.trim())).toEqual([
      'jira',
      'issue',
      COLLISION_FIELD,
      COLLISION_PROBLEM,
      '1',
      at.toISOString(),
      reassigned.id,
    ]);
  }, 60_000);
});
