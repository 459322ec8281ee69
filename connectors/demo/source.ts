import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import { generateDemoOrg, type DemoOrg } from './generator.js';

const anchorSchema = z.object({ seed: z.number().int(), now: z.iso.datetime(), months: z.number().int(), teams: z.number().int() });

/**
 * The demo organisation for this data folder. Its "now" is fixed the first time and kept in the data
 * folder, so running the job again regenerates exactly the same entity versions (same event ids) and
 * the store does not fill with near-copies; a new seed or size in the config starts a new anchor.
 */
export function loadDemo(config: Config, clock: () => Date = () => new Date()): DemoOrg & { now: string; teams: number } {
  const file = path.join(config.dataDir, 'demo-anchor.json');
  const wanted = { seed: config.demo.seed, months: config.demo.months, teams: config.demo.teams };
  let anchor: z.infer<typeof anchorSchema> | undefined;
  try {
    const parsed = anchorSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success && parsed.data.seed === wanted.seed && parsed.data.months === wanted.months && parsed.data.teams === wanted.teams) {
      anchor = parsed.data;
    }
  } catch {
    anchor = undefined;
  }
  if (anchor === undefined) {
    const now = clock();
    now.setUTCHours(0, 0, 0, 0);
    anchor = { ...wanted, now: now.toISOString() };
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(anchor, null, 2));
  }
  const demo = generateDemoOrg({ seed: anchor.seed, now: new Date(anchor.now), months: anchor.months, teams: anchor.teams });
  return { ...demo, now: anchor.now, teams: anchor.teams };
}
