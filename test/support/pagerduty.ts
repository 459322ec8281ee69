import type { CursorStore } from '../../connectors/core/cursor-store.js';
import type { Bus } from '../../infra/bus/types.js';
import { startPagerdutyFake, type FakePagerduty, type PagerdutyDataset } from '../fakes/pagerduty.js';
import { syncTarget } from './bus.js';
import { ManualClock } from './clock.js';

/** A fake PagerDuty API and what a sync of it writes to, on one manual clock. */
export interface PagerdutySync {
  fake: FakePagerduty;
  bus: Bus;
  cursors: CursorStore;
  clock: ManualClock;
  /** The ids of the fake's services, as `sources.pagerduty.services` names them. */
  services: string[];
}

/**
 * The fake PagerDuty API serving `data` (accepting `token`) on a manual clock at `at`, and a bus and
 * cursor store to sync it into; what closes them is pushed onto `cleanups`.
 */
export async function startPagerdutySync(
  data: PagerdutyDataset,
  options: { token: string; at: number; cleanups: Array<() => Promise<void>> },
): Promise<PagerdutySync> {
  const clock = new ManualClock(options.at);
  const fake = await startPagerdutyFake({ token: options.token, data, now: () => clock.date() });
  const target = await syncTarget();
  options.cleanups.push(
    () => fake.close(),
    () => target.close(),
  );
  return { fake, bus: target.bus, cursors: target.cursors, clock, services: [...fake.services.keys()] };
}
