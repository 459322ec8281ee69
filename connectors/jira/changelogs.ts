import type { z } from 'zod';
import { SourceError } from '../../infra/http-retry.js';
import type { StreamContext } from '../core/types.js';
import type { JiraClient } from './client.js';
import * as S from './schemas.js';

/**
 * Completing the changelogs a Cloud search truncates. A search result carries at most the newest 100
 * histories of an issue; the rest come from POST /rest/api/3/changelog/bulkfetch (the changelogs of up
 * to 1000 issues a request, 1000 histories a page, its nextPageToken followed to the end) or, on a
 * site without that endpoint, from GET /issue/{id}/changelog one issue at a time. Either way the issue
 * gets every history, in the order its search result listed them.
 */

/** Issues one bulkfetch request names at most, and the histories a page of it asks for. */
export const BULK_ISSUES = 1000;
export const BULK_PAGE = 1000;
const CHANGELOG_PAGE = 100;

type History = z.infer<typeof S.history>;

/** True when the search result holds fewer histories than the issue has. */
export function truncated(issue: S.Issue): boolean {
  const log = issue.changelog;
  return log !== undefined && log.total !== undefined && log.total > log.histories.length;
}

/** Puts `all` (oldest first, as both changelog endpoints list them) in place, in the order search used. */
function complete(issue: S.Issue, all: History[]): void {
  const log = issue.changelog;
  if (log === undefined) return;
  const first = log.histories[0];
  const last = log.histories[log.histories.length - 1];
  // Cloud's search lists the newest change first; the changelog endpoints list the oldest first.
  const newestFirst = first !== undefined && last !== undefined && Date.parse(first.created) > Date.parse(last.created);
  const histories = newestFirst ? [...all].reverse() : all;
  issue.changelog = { ...log, startAt: 0, maxResults: histories.length, total: histories.length, histories };
}

async function perIssue(client: JiraClient, issue: S.Issue, ctx: StreamContext, counter: { n: number }): Promise<History[]> {
  const v3 = client.v3!;
  const all: History[] = [];
  for (let startAt = 0; ;) {
    const page = await client.call(
      `GET /rest/api/3/issue/${issue.id}/changelog`,
      S.changelogPage,
      () => v3.issues.getChangeLogs<unknown>({ issueIdOrKey: issue.id, startAt, maxResults: CHANGELOG_PAGE }),
      { signal: ctx.signal, counter },
    );
    all.push(...page.values);
    startAt += page.values.length;
    if (page.isLast === true || page.values.length === 0 || startAt >= page.total) return all;
  }
}

/** Every history of `ids` (at most BULK_ISSUES), oldest first per issue, following nextPageToken to the last page. */
async function bulk(client: JiraClient, ids: string[], ctx: StreamContext, counter: { n: number }): Promise<Map<string, History[]>> {
  const v3 = client.v3!;
  const out = new Map<string, History[]>(ids.map((id) => [id, []]));
  const seen = new Set<string>();
  for (let token: string | undefined; ;) {
    const at = token;
    const page = await client.call(
      'POST /rest/api/3/changelog/bulkfetch',
      S.bulkChangelogPage,
      () =>
        v3.issues.getBulkChangelogs<unknown>({
          issueIdsOrKeys: ids,
          maxResults: BULK_PAGE,
          ...(at !== undefined ? { nextPageToken: at } : {}),
        }),
      { signal: ctx.signal, counter },
    );
    for (const log of page.issueChangeLogs) {
      const list = out.get(log.issueId);
      if (list !== undefined) list.push(...log.changeHistories);
    }
    token = page.nextPageToken ?? undefined;
    if (token === undefined) return out;
    // A token handed back twice would page forever: the answer is broken, not short.
    if (seen.has(token))
      throw new SourceError('POST /rest/api/3/changelog/bulkfetch: the same nextPageToken came back twice', 'fatal', undefined);
    seen.add(token);
  }
}

/**
 * Completes every truncated changelog among `issues` in place: by bulkfetch while the client's plan
 * says so (a 404 under `auto` turns the plan to per-issue for the rest of the client's life), else
 * per issue.
 */
export async function completeChangelogs(client: JiraClient, issues: S.Issue[], ctx: StreamContext, counter: { n: number }): Promise<void> {
  if (client.v3 === undefined) return;
  const short = issues.filter(truncated);
  for (let i = 0; i < short.length && client.changelogs.plan === 'bulkfetch'; i += BULK_ISSUES) {
    const chunk = short.slice(i, i + BULK_ISSUES);
    let found: Map<string, History[]>;
    try {
      found = await bulk(
        client,
        chunk.map((issue) => issue.id),
        ctx,
        counter,
      );
    } catch (err) {
      if (!(err instanceof SourceError && err.status === 404)) throw err;
      if (!client.changelogs.fallback) {
        throw new SourceError(
          `${err.message}; this site has no bulk changelog endpoint: set sources.jira.changelogs to auto or per-issue`,
          'fatal',
          404,
        );
      }
      ctx.logger.info('POST /rest/api/3/changelog/bulkfetch answered 404: completing changelogs per issue on this site');
      client.changelogs.plan = 'per-issue';
      break;
    }
    // An issue the answer lacks (moved out of sight since the search) is left to the per-issue path, which says why.
    for (const issue of chunk) {
      const all = found.get(issue.id) ?? [];
      if (all.length >= (issue.changelog?.histories.length ?? 0)) complete(issue, all);
    }
  }
  for (const issue of short) {
    if (truncated(issue)) complete(issue, await perIssue(client, issue, ctx, counter));
  }
}
