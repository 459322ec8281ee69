import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import { demoOrgConfig, generateDemoOrg, type DemoOrg } from './generator.js';

const anchorSchema = z.object({ seed: z.number().int(), now: z.iso.datetime(), months: z.number().int(), teams: z.number().int() });

/**
 * The demo's anchor for this data folder: its "now" is fixed the first time and kept in the data folder,
 * so running the job again regenerates exactly the same entity versions (same event ids) and the store
 * does not fill with near-copies; a new seed or size in the config starts a new anchor.
 */
function demoAnchor(config: Config, clock: Pick<Clock, 'date'>): z.infer<typeof anchorSchema> {
  const file = path.join(config.dataDir, 'demo-anchor.json');
  const wanted = { seed: config.demo.seed, months: config.demo.months, teams: config.demo.teams };
  try {
    const parsed = anchorSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success && parsed.data.seed === wanted.seed && parsed.data.months === wanted.months && parsed.data.teams === wanted.teams) {
      return parsed.data;
    }
  } catch {
    // no anchor yet, or not one we can read: start a new one
  }
  const now = clock.date();
  now.setUTCHours(0, 0, 0, 0);
  const anchor = { ...wanted, now: now.toISOString() };
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(anchor, null, 2));
  return anchor;
}

/** The demo organisation for this data folder (see demoAnchor), its whole history; a new anchor's "now" is the clock's day. */
export function loadDemo(config: Config, clock: Pick<Clock, 'date'> = systemClock): DemoOrg & { now: string; teams: number } {
  const anchor = demoAnchor(config, clock);
  const demo = generateDemoOrg({ seed: anchor.seed, now: new Date(anchor.now), months: anchor.months, teams: anchor.teams });
  return { ...demo, now: anchor.now, teams: anchor.teams };
}

/** The org mapping of this data folder's demo organisation, without generating its history. */
export function loadDemoOrgConfig(config: Config, clock: Pick<Clock, 'date'> = systemClock): DemoOrg['org'] {
  const anchor = demoAnchor(config, clock);
  return demoOrgConfig({ seed: anchor.seed, now: new Date(anchor.now), months: anchor.months, teams: anchor.teams });
}
