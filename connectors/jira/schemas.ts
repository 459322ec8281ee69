import { z } from 'zod';

/**
 * The parts of Jira's answers the connector reads. Objects are loose: every other key is kept, so
 * the payload on the bus is the vendor's object unmodified.
 */
const jiraTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected a timestamp');

export const history = z.looseObject({ id: z.string(), created: jiraTime });

export const changelog = z.looseObject({
  startAt: z.number().optional(),
  maxResults: z.number().optional(),
  total: z.number().optional(),
  histories: z.array(history).default([]),
});

export const issue = z.looseObject({
  id: z.string(),
  key: z.string().optional(),
  fields: z.looseObject({ updated: jiraTime }),
  changelog: changelog.optional(),
});
export type Issue = z.infer<typeof issue>;

/** An issue of an ids-only listing (fields=id). */
export const issueId = z.looseObject({ id: z.string() });

/** POST /rest/api/3/search/jql: nextPageToken paging, no total. */
export const enhancedSearchPage = <T extends z.ZodType>(item: T) =>
  z.looseObject({ issues: z.array(item).default([]), nextPageToken: z.string().optional(), isLast: z.boolean().optional() });

/** POST /rest/api/2/search (Data Center): startAt paging with a total. */
export const classicSearchPage = <T extends z.ZodType>(item: T) =>
  z.looseObject({ issues: z.array(item).default([]), startAt: z.number(), maxResults: z.number(), total: z.number() });

/** GET /rest/api/3/issue/{id}/changelog: a PageBean of histories, oldest first. */
export const changelogPage = z.looseObject({
  startAt: z.number(),
  maxResults: z.number(),
  total: z.number(),
  isLast: z.boolean().optional(),
  values: z.array(history),
});

/** POST /rest/api/3/changelog/bulkfetch: histories of many issues, oldest first, with nextPageToken paging. */
export const bulkChangelogPage = z.looseObject({
  issueChangeLogs: z
    .array(z.looseObject({ issueId: z.union([z.string(), z.number()]).transform(String), changeHistories: z.array(history).default([]) }))
    .default([]),
  nextPageToken: z.string().nullish(),
});

export const version = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  archived: z.boolean().optional(),
  released: z.boolean().optional(),
  releaseDate: z.string().optional(),
  startDate: z.string().optional(),
  projectId: z.number().optional(),
});
export type Version = z.infer<typeof version>;

/** GET /rest/api/3/project/{key}/version: a PageBean. */
export const versionPage = z.looseObject({
  startAt: z.number(),
  maxResults: z.number(),
  total: z.number().optional(),
  isLast: z.boolean().optional(),
  values: z.array(version),
});

export const sprint = z.looseObject({
  id: z.number().int(),
  state: z.string(),
  name: z.string().optional(),
  goal: z.string().optional(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
  completeDate: z.string().optional(),
  createdDate: z.string().optional(),
});
export type Sprint = z.infer<typeof sprint>;

/** GET /rest/agile/1.0/board/{id}/sprint. */
export const sprintPage = z.looseObject({
  startAt: z.number(),
  maxResults: z.number(),
  isLast: z.boolean().optional(),
  values: z.array(sprint),
});

export const anyObject = z.looseObject({});

export const permissions = z.looseObject({
  permissions: z.record(z.string(), z.looseObject({ havePermission: z.boolean().optional() })),
});

export const fieldList = z.array(z.looseObject({ id: z.string(), name: z.string().optional() }));

/** A webhook delivery: only the keys that decide which records it carries. */
export const delivery = z.looseObject({
  webhookEvent: z.string().optional(),
  timestamp: z.number().optional(),
  issue: z.unknown().optional(),
  sprint: z.unknown().optional(),
  version: z.unknown().optional(),
});
