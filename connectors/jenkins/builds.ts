import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Cursor, Page, Stream, StreamContext } from '../core/types.js';
import { jobUrlPath, normaliseJobPath, type JenkinsClient } from './client.js';

export const PAGE_SIZE = 100;

/** What a build record carries; `allBuilds` rather than `builds`, which Jenkins cuts at the newest 100. */
export const BUILD_TREE =
  'number,url,result,building,timestamp,duration,estimatedDuration,displayName,' +
  'actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]],causes[shortDescription]],changeSets[items[commitId]]';

const buildSchema = z.looseObject({
  number: z.number().int().nonnegative(),
  result: z.string().nullish(),
  building: z.boolean().nullish(),
  timestamp: z.number().int().nonnegative(),
  duration: z.number().nonnegative().nullish(),
});
type Build = z.infer<typeof buildSchema>;

const listSchema = z.looseObject({ allBuilds: z.array(z.unknown()).nullish() });

/**
 * A build version: its start time, and its state. A running build is `0-running`; a finished one
 * `1-<RESULT>`, which sorts after it. Jenkins reports a duration of 0 until the build ends, so the
 * duration adds nothing the state does not say, and the Notification plugin's deliveries do not
 * carry it: it is left out so that a webhook and a pull of the same state get the same version.
 */
export function buildVersion(timestamp: number, result: string | null | undefined, building: boolean): string {
  const state = building || result === null || result === undefined || result === '' ? '0-running' : `1-${result}`;
  return timeVersion(new Date(timestamp), state);
}

export const isRunning = (b: Pick<Build, 'building' | 'result'>): boolean =>
  b.building === true || b.result === null || b.result === undefined;

export function buildRecord(host: string, jobPath: string, raw: unknown): SourceRecord {
  const build = buildSchema.parse(raw);
  const running = isRunning(build);
  return {
    source: 'jenkins',
    type: 'jenkins.build',
    subject: subjects.jenkinsBuild(host, normaliseJobPath(jobPath), build.number),
    version: buildVersion(build.timestamp, build.result, running),
    // Its last change: the end for a finished build, the start for a running one.
    time: new Date(build.timestamp + (running ? 0 : (build.duration ?? 0))).toISOString(),
    payload: build,
  };
}

const parseRunning = (raw: unknown): Set<number> =>
  new Set(
    (typeof raw === 'string' ? raw.split(',') : [])
      .filter((s) => s !== '')
      .map(Number)
      .filter(Number.isInteger),
  );

/**
 * Builds of one job, newest first in pages of PAGE_SIZE ({m,n} ranges). The cursor keeps the highest
 * build number seen and the builds that were still running; a sync reads down to the oldest of
 * those (usually within the first page), emits the new builds and the running ones that finished,
 * and saves the cursor once the listing is read. Without a cursor it reads back to `since`.
 */
async function* pullBuilds(client: JenkinsClient, jobPath: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
  const fresh = ctx.backfill || typeof cursor?.['last'] !== 'number';
  const last = fresh ? -1 : Number(cursor?.['last']);
  const running = fresh ? new Set<number>() : parseRunning(cursor?.['running']);
  const floor = Math.min(last, ...running);
  const since = ctx.since.getTime();
  const stillRunning = new Set<number>();
  let highest = last;
  const base = `${jobUrlPath(jobPath)}/api/json?tree=${encodeURIComponent(`allBuilds[${BUILD_TREE}]`)}`;
  for (let from = 0; ; from += PAGE_SIZE) {
    const body = await client.get(`${base}${encodeURIComponent(`{${from},${from + PAGE_SIZE}}`)}`, ctx.signal);
    const parsed = listSchema.safeParse(body);
    if (!parsed.success) throw new SourceError(`GET ${jobUrlPath(jobPath)}/api/json: not a job (no allBuilds)`, 'fatal', undefined);
    const builds = parsed.data.allBuilds ?? [];
    const records: SourceRecord[] = [];
    let done = builds.length < PAGE_SIZE;
    for (const raw of builds) {
      const build = buildSchema.parse(raw);
      if (fresh ? build.timestamp < since : build.number <= floor) done = true;
      const wanted = fresh ? build.timestamp >= since : build.number > last || running.has(build.number);
      if (!wanted) continue;
      highest = Math.max(highest, build.number);
      const isNew = fresh || build.number > last;
      if (isRunning(build)) stillRunning.add(build.number);
      // A build already emitted as running is emitted again only once it has finished.
      if (isNew || !isRunning(build)) records.push(buildRecord(client.host, jobPath, raw));
    }
    if (done) {
      yield { records, requests: 1, cursor: { last: highest, running: [...stillRunning].sort((a, b) => a - b).join(',') } };
      return;
    }
    yield { records, requests: 1 };
  }
}

export function configuredJobs(config: Config): string[] {
  return [...new Set((config.sources.jenkins?.jobs ?? []).map(normaliseJobPath))];
}

/** Failures name the job they stopped, so the message says which scope to fix. */
async function* pullJobBuilds(
  client: JenkinsClient,
  jobPath: string,
  cursor: Cursor | undefined,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  try {
    yield* pullBuilds(client, jobPath, cursor, ctx);
  } catch (err) {
    if (err instanceof SourceError) throw new SourceError(`job ${jobPath}: ${err.message}`, err.kind, err.status, err.retryAfterMs);
    throw err;
  }
}

export const jenkinsStreams: Array<Stream<JenkinsClient>> = [{ name: 'builds', scopes: configuredJobs, pull: pullJobBuilds }];
