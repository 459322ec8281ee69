import { z } from 'zod';
import type {
  LinkType,
  MilestoneDateRow,
  MilestoneRow,
  MilestoneState,
  StatusCategory,
  WorkItemHistoryRow,
  WorkItemKind,
  WorkItemLinkRow,
  WorkItemRow,
} from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import type { ModelConfig } from '../../infra/config/schema.js';
import {
  ok,
  parsePayload,
  type FieldNotes,
  type MapContext,
  type Outcome,
  type Requirement,
  type SourceMappers,
} from '../../mapping/registry.js';
import { iso, isoDate, isoOrNull, ownerColumns, rowsOf, rowVersion } from '../../mapping/rows.js';

const SOURCE = 'jira';

// ---------------------------------------------------------------------------------------------------
// Vendor enums and the domain categories they map to

/** Jira's status categories (statusCategory.key). 'undefined' is Jira's "No Category", shown like To Do. */
const STATUS_CATEGORY: Record<string, StatusCategory> = {
  new: 'todo',
  undefined: 'todo',
  indeterminate: 'in_progress',
  done: 'done',
};

/** Priority names of the default schemes: Cloud (Highest..Lowest) and older Data Center sites (Blocker..Trivial). */
const PRIORITY_RANK: Record<string, number> = {
  highest: 1,
  high: 2,
  medium: 3,
  low: 4,
  lowest: 5,
  blocker: 1,
  critical: 2,
  major: 3,
  minor: 4,
  trivial: 5,
};

/** A date field's value: 'YYYY-MM-DD', possibly with a time after it. */
const DAY_PREFIX = /^\d{4}-\d{2}-\d{2}/;

/** An epic as a milestone: its status category read as the milestone's state. */
const EPIC_STATE: Record<StatusCategory, MilestoneState> = { todo: 'open', in_progress: 'active', done: 'done' };

/** A Jira version's flags, most final first: archived wins over released. */
const VERSION_STATE: Record<'archived' | 'released' | 'unreleased', MilestoneState> = {
  archived: 'archived',
  released: 'done',
  unreleased: 'open',
};
const VERSION_RANK: Record<MilestoneState, number> = { open: 0, active: 1, done: 2, archived: 3 };

/** Agile sprint states, with their lifecycle rank (the version tiebreak). */
const SPRINT_STATE: Record<string, { state: MilestoneState; rank: number }> = {
  future: { state: 'open', rank: 0 },
  active: { state: 'active', rank: 1 },
  closed: { state: 'done', rank: 2 },
};

/** Link types by name: the defaults Jira Cloud and Data Center create. */
const LINK_TYPE_BY_NAME: Record<string, LinkType> = {
  blocks: 'blocks',
  relates: 'relates',
  duplicate: 'duplicates',
  cloners: 'clones',
  'work item split': 'splits',
  'issue split': 'splits',
};

/**
 * The words on either end of the default link types, as the changelog writes them ("This issue is
 * blocked by ABC-12"). `end` says which end of the link the words describe: outward words are said of
 * the link's source (from), inward words of its destination (to); 'both' for a symmetric type.
 */
const LINK_PHRASE: Record<string, { type: LinkType; name: string; end: 'outward' | 'inward' | 'both' }> = {
  blocks: { type: 'blocks', name: 'Blocks', end: 'outward' },
  'is blocked by': { type: 'blocks', name: 'Blocks', end: 'inward' },
  duplicates: { type: 'duplicates', name: 'Duplicate', end: 'outward' },
  'is duplicated by': { type: 'duplicates', name: 'Duplicate', end: 'inward' },
  clones: { type: 'clones', name: 'Cloners', end: 'outward' },
  'is cloned by': { type: 'clones', name: 'Cloners', end: 'inward' },
  'relates to': { type: 'relates', name: 'Relates', end: 'both' },
  'split to': { type: 'splits', name: 'Work item split', end: 'outward' },
  'split from': { type: 'splits', name: 'Work item split', end: 'inward' },
};

// ---------------------------------------------------------------------------------------------------
// The parts of the payloads the mappers read

const scalar = z.union([z.string(), z.number()]).nullish();
const user = z.looseObject({ accountId: z.string().optional(), key: z.string().optional(), name: z.string().optional() }).nullish();
const changeItem = z.looseObject({
  field: z.string(),
  fieldId: z.string().optional(),
  from: scalar,
  fromString: scalar,
  to: scalar,
  toString: scalar,
});
type ChangeItem = z.infer<typeof changeItem>;
const linkedIssue = z.looseObject({ id: z.string(), key: z.string() });
const issueLink = z.looseObject({
  id: z.string(),
  type: z.looseObject({ name: z.string(), inward: z.string().optional(), outward: z.string().optional() }),
  inwardIssue: linkedIssue.optional(),
  outwardIssue: linkedIssue.optional(),
});
type IssueLink = z.infer<typeof issueLink>;

/** A Jira time: the payload's text when it parses as one. */
const jiraTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected a timestamp');
/** A calendar date or a timestamp (a custom date field may hold either). */
const jiraDay = z.string().refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isNaN(Date.parse(v)), 'expected a date');

/**
 * What an issue cannot exist without: its id and key, and fields.updated (its version). Everything
 * else is read field by field (see readIssue), so a field of an unexpected shape leaves that column
 * empty instead of losing the issue. The webhook checks the same before it answers.
 */
const issueMinimum = z.looseObject({
  id: z.string().min(1),
  key: z.string().min(1),
  fields: z.looseObject({ updated: jiraTime }),
});

const history = z.looseObject({ id: z.union([z.string(), z.number()]).transform(String), created: jiraTime, author: user });

/** Pull: the REST issue with its changelog (search with expand=changelog). */
const pulledIssue = issueMinimum.extend({ changelog: z.unknown().optional() });

/** Webhook: the delivery, whose changelog is the one change that caused it, without a time of its own. */
const issueDelivery = z.looseObject({
  webhookEvent: z.string().optional(),
  issue: issueMinimum,
  user: z.unknown().optional(),
  changelog: z.unknown().optional(),
});

const isObjectValue = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function issueRequired(data: unknown, event: Pick<RawEvent, 'type' | 'subject'>): void {
  if (isObjectValue(data) && isObjectValue(data['issue'])) parsePayload(issueDelivery, data, event);
  else parsePayload(pulledIssue, data, event);
}

/** A deleted issue needs only its id. */
const deletedIssue = z.looseObject({ id: z.string().min(1) });

/** A version needs only its id; name, flags and dates are read field by field. */
const versionSchema = z.looseObject({ id: z.string().min(1) });

/** A sprint needs its id and a state Jira has (the state orders its versions). */
const sprintSchema = z.looseObject({
  id: z.number(),
  state: z.string().refine((v) => SPRINT_STATE[v.toLowerCase()] !== undefined, 'expected future, active or closed'),
});

/** The sprint field: Cloud's sprint objects, or Data Center's sprint strings. */
const sprintField = z.array(z.union([z.looseObject({ id: z.number() }), z.string()])).nullish();

// ---------------------------------------------------------------------------------------------------
// Shared helpers

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** Subjects are `<site>/issue/<id>`, `<site>/version/<id>`, `<site>/sprint/<id>`. */
const siteOf = (event: RawEvent): string => event.subject.slice(0, event.subject.indexOf('/'));

/** The stable account id: accountId on Cloud, the user key (else name) on Data Center. */
const person = (ctx: MapContext, u: z.infer<typeof user>): string => ctx.people.id(SOURCE, u?.accountId ?? u?.key ?? u?.name);

function kindOf(t: { name: string; subtask?: boolean | undefined; hierarchyLevel?: number | undefined }, model: ModelConfig): WorkItemKind {
  const name = t.name.toLowerCase();
  for (const [kind, names] of Object.entries(model.workItems.types)) {
    if (names.some((n) => n.toLowerCase() === name)) return kind as WorkItemKind;
  }
  if (t.subtask === true || t.hierarchyLevel === -1) return 'subtask';
  if (t.hierarchyLevel === 1) return 'epic';
  return 'other';
}

/**
 * The status category: the configured one for the status's name, else Jira's statusCategory. Jira
 * Server and older Cloud sites send none: the resolution then stands in (resolved is done, else to do),
 * noted so the status can be configured (model.workItems.statusCategories).
 */
function statusCategoryOf(issue: Issue, model: ModelConfig, notes: FieldNotes): StatusCategory {
  const name = issue.status.name.toLowerCase();
  for (const [status, category] of Object.entries(model.workItems.statusCategories)) if (status.toLowerCase() === name) return category;
  const key = issue.status.categoryKey;
  const category = key === undefined ? undefined : STATUS_CATEGORY[key];
  if (category !== undefined) return category;
  notes.note(
    'fields.status.statusCategory.key',
    key === undefined
      ? `missing, and no status category is configured for '${name}': read from the resolution`
      : `unknown status category '${key}': read from the resolution`,
  );
  return issue.resolvedAt !== null || issue.resolution !== '' ? 'done' : 'todo';
}

/**
 * The text of a field: a plain string (REST v2, webhooks, Server), a number, an option ({ value }) or
 * a named object, an Atlassian Document (REST v3 rich text, read as its plain text), or a list of
 * these. Undefined when the value is none of them.
 */
function textOf(v: unknown): string | undefined {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    const parts = v.map(textOf);
    return parts.some((p) => p === undefined) ? undefined : parts.filter((p) => p !== '').join(', ');
  }
  if (!isObject(v)) return undefined;
  if (v['type'] === 'doc') return plainText(v).trim();
  for (const key of ['value', 'name']) if (typeof v[key] === 'string') return v[key];
  return undefined;
}

const text = z.unknown().transform((v, c) => {
  const t = textOf(v);
  if (t === undefined) c.addIssue({ code: 'custom', message: 'expected text, an option or rich text' });
  return t ?? '';
});

/** Story points: a number, or a number in text (text fields on older sites); never negative. */
const points = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\s*-?\d+(\.\d+)?\s*$/, 'expected a number')
      .transform(Number),
  ])
  .nullish()
  .refine((n) => n === null || n === undefined || n >= 0, 'expected a number of points, not negative');

/** A configured custom field, read with `schema`; one that does not fit is left empty and noted. */
function custom<S extends z.ZodType>(schema: S, issue: Issue, id: string | undefined, notes: FieldNotes, empty: z.infer<S>): z.infer<S> {
  if (id === undefined) return empty;
  return notes.read(schema, issue.fields[id], `fields.${id}`, empty);
}

/** Data Center renders a sprint as "com.atlassian.greenhopper.service.sprint.Sprint@1f[id=12,rapidViewId=3,...]". */
const sprintId = (s: { id: number } | string): string => (typeof s === 'string' ? (/[[,]id=(\d+)/.exec(s)?.[1] ?? '') : String(s.id));

/** Text of a rich text field: a plain string (REST v2, webhooks) or an Atlassian Document (REST v3). */
function plainText(node: unknown): string {
  if (typeof node === 'string') return node;
  if (!isObject(node)) return '';
  if (node['type'] === 'text' && typeof node['text'] === 'string') return node['text'];
  if (node['type'] === 'hardBreak') return '\n';
  const content = Array.isArray(node['content']) ? node['content'] : [];
  const inline = content.some((c) => isObject(c) && (c['type'] === 'text' || c['type'] === 'hardBreak'));
  return content.map(plainText).join(inline ? '' : '\n');
}

// ---------------------------------------------------------------------------------------------------
// jira.issue

/** An issue's fields as the rows read them; each optional field read on its own (see readIssue). */
interface Issue {
  id: string;
  key: string;
  updated: string;
  created: string;
  summary: string;
  project: string;
  issuetype: { name: string; subtask?: boolean | undefined; hierarchyLevel?: number | undefined };
  status: { name: string; categoryKey: string | undefined };
  priority: string;
  assignee: z.infer<typeof user>;
  reporter: z.infer<typeof user>;
  components: string[];
  labels: string[];
  duedate: string | null;
  fixVersions: string[];
  versions: string[];
  parent: string;
  environment: string;
  resolution: string;
  resolvedAt: string | null;
  issuelinks: IssueLink[];
  /** Time tracking, in seconds. */
  originalEstimate: number | null;
  timeSpent: number | null;
  /** Every field as sent, for the configured custom fields. */
  fields: Record<string, unknown>;
}

const named = z.looseObject({ name: z.string() });
const optionalTime = jiraTime.nullish();

// The schemas of the fields read one by one, each made once: making a zod schema costs far more than checking a value with it.
const anyList = z.array(z.unknown()).nullish();
const anyString = z.string();
const optionalString = z.string().optional();
const nullishString = z.string().nullish();
const nullishFlag = z.boolean().nullish();
const nullishNumber = z.number().nullish();
const seconds = z.number().nonnegative().nullish();
const optionalNamed = named.nullish();
const nullishDay = jiraDay.nullish();
const dayOrEmpty = jiraDay.or(z.literal(''));
const keyed = z.looseObject({ key: z.string() });
const optionalKeyed = keyed.optional();
const withId = z.looseObject({ id: z.string() });
const issueTypeField = z.looseObject({ name: z.string(), subtask: z.boolean().nullish(), hierarchyLevel: z.number().nullish() });
const statusField = z.looseObject({ name: z.string(), statusCategory: z.unknown().optional() });
const createdField = jiraTime.optional();
const parentField = withId.nullish();
const deliveryChange = z.looseObject({ id: z.union([z.string(), z.number()]), items: z.unknown() }).nullish();
const pulledChangelog = z.looseObject({ histories: z.unknown() }).nullish();
const deletedFields = z.looseObject({ project: optionalKeyed, issuetype: named.optional() }).optional();

/** Each element of a list read on its own: an element that does not fit is left out and noted. */
function readEach<S extends z.ZodType>(schema: S, value: unknown, field: string, notes: FieldNotes): Array<z.infer<S>> {
  const list = notes.read(anyList, value, field, null) ?? [];
  return list.flatMap((item) => {
    const r = notes.read(schema, item, `${field}[]`, undefined);
    return r === undefined ? [] : [r];
  });
}

function readIssue(i: z.infer<typeof issueMinimum>, notes: FieldNotes): Issue {
  const f = i.fields;
  const read = <S extends z.ZodType>(schema: S, key: string, empty: z.infer<S>): z.infer<S> =>
    notes.read(schema, f[key], `fields.${key}`, empty);
  const issuetype = read(issueTypeField, 'issuetype', { name: '' });
  const status = read(statusField, 'status', { name: '' });
  const categoryKey = notes.read(optionalKeyed, status.statusCategory ?? undefined, 'fields.status.statusCategory', undefined)?.key;
  let created = read(createdField, 'created', f.updated);
  if (created === undefined) {
    notes.note('fields.created', 'missing: fields.updated stands in as the latest possible creation');
    created = f.updated;
  }
  return {
    id: i.id,
    key: i.key,
    updated: f.updated,
    created,
    summary: read(nullishString, 'summary', null) ?? '',
    project: read(keyed, 'project', { key: '' }).key,
    issuetype: {
      name: issuetype.name,
      subtask: issuetype.subtask ?? undefined,
      hierarchyLevel: issuetype.hierarchyLevel ?? undefined,
    },
    status: { name: status.name, categoryKey },
    priority: read(optionalNamed, 'priority', null)?.name ?? '',
    assignee: read(user, 'assignee', null),
    reporter: read(user, 'reporter', null),
    components: readEach(named, f['components'], 'fields.components', notes).map((c) => c.name),
    labels: readEach(anyString, f['labels'], 'fields.labels', notes),
    duedate: read(nullishDay, 'duedate', null) ?? null,
    fixVersions: readEach(withId, f['fixVersions'], 'fields.fixVersions', notes).map((v) => v.id),
    versions: readEach(withId, f['versions'], 'fields.versions', notes).map((v) => v.id),
    parent: read(parentField, 'parent', null)?.id ?? '',
    environment: read(text, 'environment', ''),
    resolution: read(optionalNamed, 'resolution', null)?.name ?? '',
    resolvedAt: read(optionalTime, 'resolutiondate', null) ?? null,
    issuelinks: readEach(issueLink, f['issuelinks'], 'fields.issuelinks', notes),
    originalEstimate: read(seconds, 'timeoriginalestimate', null) ?? null,
    timeSpent: read(seconds, 'timespent', null) ?? null,
    fields: f,
  };
}

/** One change group of the changelog, whichever shape it came in. */
interface Change {
  id: string;
  created: string;
  author?: z.infer<typeof user> | undefined;
  items: ChangeItem[];
}

interface IssueVersion {
  issue: Issue;
  changes: Change[];
}

/** The items of one change group; an item that cannot be read is left out and noted. */
const changeItems = (items: unknown, field: string, notes: FieldNotes): ChangeItem[] => readEach(changeItem, items, field, notes);

/**
 * The issue and its changes from either shape. A webhook delivery has the issue under `issue`; a REST
 * issue never has that key. A delivery's change has no time: it is the change that made this version,
 * so its time is the issue's `updated` (Jira writes both in one transaction). The changelog of
 * jira:issue_created lists the initial values, which Jira's REST changelog never shows: it is left out
 * so an issue's history is the same whichever way it arrived. A change group that cannot be read is
 * left out and noted; the issue and the other changes are kept.
 */
function issueVersion(event: RawEvent, notes: FieldNotes): IssueVersion {
  if (isObject(event.data) && isObject(event.data['issue'])) {
    const d = parsePayload(issueDelivery, event.data, event);
    const issue = readIssue(d.issue, notes);
    const log = notes.read(deliveryChange, d.changelog, 'changelog', null);
    const author = notes.read(user, d.user, 'user', null);
    const changes =
      log === null || log === undefined || d.webhookEvent === 'jira:issue_created'
        ? []
        : [{ id: String(log.id), created: issue.updated, author, items: changeItems(log.items, 'changelog.items', notes) }];
    return { issue, changes };
  }
  const p = parsePayload(pulledIssue, event.data, event);
  const log = notes.read(pulledChangelog, p.changelog, 'changelog', null);
  const changes = readEach(history, log?.histories, 'changelog.histories', notes).map((h): Change => ({
    id: h.id,
    created: h.created,
    author: h.author,
    items: changeItems(h['items'], 'changelog.histories[].items', notes),
  }));
  return { issue: readIssue(p, notes), changes };
}

function workItemRow(v: IssueVersion, event: RawEvent, ctx: MapContext, notes: FieldNotes): WorkItemRow {
  const { issue } = v;
  const jf = ctx.jiraFields;
  const foundIn = custom(text, issue, jf.foundIn, notes, '');
  const day = (value: string | null | undefined): string | null => (value === null || value === undefined ? null : isoDate(value, ''));
  return {
    source: SOURCE,
    item_id: issue.id,
    key: issue.key,
    project: issue.project,
    type: issue.issuetype.name,
    kind: kindOf(issue.issuetype, ctx.model),
    status: issue.status.name,
    status_category: statusCategoryOf(issue, ctx.model, notes),
    priority: issue.priority,
    priority_rank: PRIORITY_RANK[issue.priority.toLowerCase()] ?? 0,
    assignee: person(ctx, issue.assignee),
    reporter: person(ctx, issue.reporter),
    components: issue.components,
    labels: issue.labels,
    due_date: day(issue.duedate),
    start_date: day(custom(nullishDay, issue, jf.startDate, notes, null)),
    fix_versions: issue.fixVersions.map((id) => `version/${id}`),
    affects_versions: issue.versions.map((id) => `version/${id}`),
    sprints: (custom(sprintField, issue, jf.sprint, notes, null) ?? [])
      .map(sprintId)
      .filter((id) => id !== '')
      .map((id) => `sprint/${id}`),
    parent_id: issue.parent,
    story_points: custom(points, issue, jf.storyPoints, notes, null) ?? null,
    original_estimate_seconds: issue.originalEstimate,
    time_spent_seconds: issue.timeSpent,
    severity: custom(text, issue, jf.severity, notes, ''),
    found_in: (foundIn !== '' ? foundIn : issue.environment).slice(0, 200),
    created_at: iso(issue.created, 'fields.created'),
    updated_at: iso(issue.updated, 'fields.updated'),
    resolved_at: isoOrNull(issue.resolvedAt, 'fields.resolutiondate'),
    resolution: issue.resolution,
    summary: issue.summary,
    ...ownerColumns(
      ctx.owners.firstOwner([
        ...issue.components.map((c): ['jiraComponent', string] => ['jiraComponent', c]),
        ['jiraProject', issue.project],
      ]),
    ),
    url: `https://${siteOf(event)}/browse/${issue.key}`,
    raw_event_id: event.id,
    version: rowVersion(issue.updated),
    is_deleted: 0,
  };
}

/** Changelog fields that name a person: their values are stored as the person's id, their display names not at all. */
const PERSON_FIELDS = new Set(['assignee', 'reporter', 'creator']);

function historyRows(v: IssueVersion, event: RawEvent, ctx: MapContext): WorkItemHistoryRow[] {
  return v.changes.flatMap((c) =>
    c.items.map((item) => {
      const personField = PERSON_FIELDS.has((item.fieldId ?? item.field).toLowerCase());
      const from = personField ? ctx.people.id(SOURCE, str(item.from)) : str(item.from);
      const to = personField ? ctx.people.id(SOURCE, str(item.to)) : str(item.to);
      return {
        source: SOURCE,
        item_id: v.issue.id,
        history_id: c.id,
        field: item.field,
        field_id: item.fieldId ?? '',
        from_value: from,
        from_string: personField ? from : str(item.fromString),
        to_value: to,
        to_string: personField ? to : str(item.toString),
        changed_at: iso(c.created, 'changelog.created'),
        author: person(ctx, c.author),
        raw_event_id: event.id,
        // A change never changes, but every later version of the issue repeats it: the latest issue
        // version carrying it is cited, the same on every replay.
        version: rowVersion(event.time),
      };
    }),
  );
}

/** "This issue is blocked by ABC-12" -> the words and the other issue's key. */
function linkPhrase(text: string | number | null | undefined): { phrase: string; key: string } | undefined {
  const m = /^This issue (.+) (\S+)$/.exec(str(text).trim());
  return m === null ? undefined : { phrase: m[1]!.toLowerCase(), key: m[2]! };
}

const linkTypeOf = (t: IssueLink['type']): LinkType =>
  LINK_TYPE_BY_NAME[t.name.toLowerCase()] ??
  LINK_PHRASE[(t.outward ?? '').toLowerCase()]?.type ??
  LINK_PHRASE[(t.inward ?? '').toLowerCase()]?.type ??
  'other';

function linkRows(v: IssueVersion, event: RawEvent): WorkItemLinkRow[] {
  const { issue } = v;
  const changes = [...v.changes].sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
  const linkItems = changes.flatMap((c) => c.items.filter((i) => i.field === 'Link').map((item) => ({ c, item })));
  // When each link still present was last added, by the other issue and the words on this end.
  const addedAt = new Map<string, string>();
  for (const { c, item } of linkItems) {
    const p = str(item.to) !== '' ? linkPhrase(item.toString) : undefined;
    if (p !== undefined) addedAt.set(`${p.key}\u0000${p.phrase}`, c.created);
  }
  const base = { source: SOURCE, raw_event_id: event.id };

  const live = issue.issuelinks.flatMap((l): WorkItemLinkRow[] => {
    const outward = l.outwardIssue !== undefined;
    const other = l.outwardIssue ?? l.inwardIssue;
    if (other === undefined) return [];
    const words = ((outward ? l.type.outward : l.type.inward) ?? '').toLowerCase();
    const created = addedAt.get(`${other.key}\u0000${words}`);
    const self = { key: issue.key, id: issue.id };
    const [from, to] = outward ? [self, other] : [other, self];
    return [
      {
        ...base,
        from_key: from.key,
        to_key: to.key,
        link_type: linkTypeOf(l.type),
        raw_type: l.type.name,
        link_id: l.id,
        from_item_id: from.id,
        to_item_id: to.id,
        created_at: isoOrNull(created, 'changelog.created'),
        // The same version with the link's creation time known is the richer row. Linking updates
        // both issues at the same instant: the outward end's row is kept, so replays cite the same event.
        version: rowVersion(issue.updated, (created === undefined ? 0 : 1) + (outward ? 2 : 0)),
        is_deleted: 0,
      },
    ];
  });

  // A Link change with no `to` removed a link; a symmetric type's removal cannot tell the ends apart, so both are removed.
  const removed = linkItems.flatMap(({ c, item }): WorkItemLinkRow[] => {
    if (str(item.to) !== '') return [];
    const p = linkPhrase(item.fromString);
    if (p === undefined) return [];
    const known = LINK_PHRASE[p.phrase];
    const end = known?.end ?? (p.phrase.startsWith('is ') ? 'inward' : 'outward');
    const self = { key: issue.key, id: issue.id };
    const other = { key: p.key, id: '' };
    const pairs =
      end === 'both'
        ? [
            [self, other],
            [other, self],
          ]
        : end === 'outward'
          ? [[self, other]]
          : [[other, self]];
    return pairs.map(([from, to]) => ({
      ...base,
      from_key: from!.key,
      to_key: to!.key,
      link_type: known?.type ?? 'other',
      raw_type: known?.name ?? '',
      link_id: '',
      from_item_id: from!.id,
      to_item_id: to!.id,
      created_at: null,
      version: rowVersion(c.created),
      is_deleted: 1,
    }));
  });
  return [...live, ...removed];
}

/**
 * An epic is a milestone committed to its due date (model.workItems.milestoneDueDateField: the due date,
 * or a custom date field); each change of that date is a re-plan. A value that is not a date is no date.
 */
function epicRows(
  v: IssueVersion,
  item: WorkItemRow,
  event: RawEvent,
  dueField: string,
  notes: FieldNotes,
): { milestones: MilestoneRow[]; dates: MilestoneDateRow[] } {
  const milestoneId = `epic/${item.item_id}`;
  const raw = v.issue.fields[dueField];
  const committed = dueField === 'duedate' ? item.due_date : typeof raw === 'string' && DAY_PREFIX.test(raw) ? raw.slice(0, 10) : null;
  const version = rowVersion(v.issue.updated);
  const milestone: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'epic',
    name: item.summary,
    project: item.project,
    state: EPIC_STATE[item.status_category],
    raw_state: item.status,
    start_date: item.start_date,
    committed_date: committed,
    completed_at: item.resolved_at,
    team: item.team,
    program: item.program,
    url: item.url,
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  const snapshot: MilestoneDateRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    committed_date: committed,
    observed_at: item.updated_at,
    basis: 'snapshot',
    raw_event_id: event.id,
    version,
  };
  // A changelog row at the same instant as the snapshot states the same date, and is the better evidence.
  const changes = v.changes.flatMap((c) =>
    c.items
      .filter((i) => (i.fieldId ?? i.field) === dueField)
      .map((i): MilestoneDateRow => ({
        source: SOURCE,
        milestone_id: milestoneId,
        committed_date: isoDate(
          notes.read(dayOrEmpty, str(i.to) !== '' ? str(i.to) : str(i.toString).slice(0, 10), 'changelog.items.to', ''),
          'changelog.items.to',
        ),
        observed_at: iso(c.created, 'changelog.created'),
        basis: 'changelog',
        raw_event_id: event.id,
        // Repeated by every later issue version: cite the latest (see historyRows).
        version: rowVersion(event.time, 1),
      })),
  );
  return { milestones: [milestone], dates: [snapshot, ...changes] };
}

function mapIssue(event: RawEvent, ctx: MapContext, notes: FieldNotes): Outcome {
  const v = issueVersion(event, notes);
  const item = workItemRow(v, event, ctx, notes);
  const epic =
    item.kind === 'epic' && ctx.model.workItems.epicsAreMilestones
      ? epicRows(v, item, event, ctx.model.workItems.milestoneDueDateField, notes)
      : { milestones: [], dates: [] };
  return ok([
    rowsOf('work_items', [item]),
    rowsOf('work_item_history', historyRows(v, event, ctx)),
    rowsOf('work_item_links', linkRows(v, event)),
    rowsOf('milestones', epic.milestones),
    rowsOf('milestone_dates', epic.dates),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// jira.issue_deleted

/**
 * The webhook delivery (the issue as it was) or the deletion scan's note ({ id, project }). The row
 * only has to carry the deletion: its time (the delivery's or the scan's) is after every live version,
 * and the top tiebreak keeps it above a live version of the same millisecond. An epic's milestone goes
 * with it; the scan cannot tell an epic apart, so any issue of unknown type removes its would-be milestone.
 */
function mapIssueDeleted(event: RawEvent, ctx: MapContext, notes: FieldNotes): Outcome {
  const webhook = isObject(event.data) && isObject(event.data['issue']);
  const d = parsePayload(
    deletedIssue,
    webhook ? (event.data as Record<string, unknown>)['issue'] : event.data,
    event,
    webhook ? 'issue' : '',
  );
  const fields = notes.read(deletedFields, d['fields'], 'fields', undefined);
  const project = fields?.project?.key ?? notes.read(optionalKeyed, d['project'], 'project', undefined)?.key ?? '';
  const type = fields?.issuetype?.name ?? '';
  const kind = type === '' ? 'other' : kindOf({ name: type }, ctx.model);
  const key = notes.read(optionalString, d['key'], 'key', undefined);
  const at = iso(event.time, 'time');
  const version = rowVersion(event.time, 999);
  const owner = ownerColumns(ctx.owners.owner('jiraProject', project));
  const url = key === undefined ? '' : `https://${siteOf(event)}/browse/${key}`;
  const item: WorkItemRow = {
    source: SOURCE,
    item_id: d.id,
    key: key ?? '',
    project,
    type,
    kind,
    status: '',
    status_category: 'todo',
    priority: '',
    priority_rank: 0,
    assignee: '',
    reporter: '',
    components: [],
    labels: [],
    due_date: null,
    start_date: null,
    fix_versions: [],
    affects_versions: [],
    sprints: [],
    parent_id: '',
    story_points: null,
    original_estimate_seconds: null,
    time_spent_seconds: null,
    severity: '',
    found_in: '',
    created_at: at,
    updated_at: at,
    resolved_at: null,
    resolution: '',
    summary: '',
    ...owner,
    url,
    raw_event_id: event.id,
    version,
    is_deleted: 1,
  };
  const epic = ctx.model.workItems.epicsAreMilestones && (type === '' || kind === 'epic');
  const milestone: MilestoneRow = {
    source: SOURCE,
    milestone_id: `epic/${d.id}`,
    kind: 'epic',
    name: '',
    project,
    state: 'done',
    raw_state: '',
    start_date: null,
    committed_date: null,
    completed_at: null,
    ...owner,
    url,
    raw_event_id: event.id,
    version,
    is_deleted: 1,
  };
  return ok([rowsOf('work_items', [item]), rowsOf('milestones', epic ? [milestone] : [])]);
}

// ---------------------------------------------------------------------------------------------------
// jira.version and jira.sprint

/** A webhook delivery has the entity under `key`; the REST object never has that key as an object. */
function entityOf<S extends z.ZodType>(schema: S, event: RawEvent, key: string): z.infer<S> {
  const webhook = isObject(event.data) && isObject(event.data[key]);
  return parsePayload(schema, webhook ? (event.data as Record<string, unknown>)[key] : event.data, event, webhook ? key : '');
}

const snapshotRow = (event: RawEvent, milestoneId: string, committed: string | null, version: number): MilestoneDateRow => ({
  source: SOURCE,
  milestone_id: milestoneId,
  committed_date: committed,
  observed_at: iso(event.time, 'time'),
  basis: 'snapshot',
  raw_event_id: event.id,
  version,
});

/**
 * Versions have no updated time: a version is as of when it was observed (the delivery's timestamp or
 * the listing's time). Jira's answers name the project by id only; the key, and so the owner and the
 * page's address, are known only when a payload carries it.
 */
function mapVersion(event: RawEvent, ctx: MapContext, notes: FieldNotes): Outcome {
  const v = entityOf(versionSchema, event, 'version');
  const read = <S extends z.ZodType>(schema: S, key: string, empty: z.infer<S>): z.infer<S> => notes.read(schema, v[key], key, empty);
  const archived = read(nullishFlag, 'archived', null) === true;
  const released = read(nullishFlag, 'released', null) === true;
  const rawState = archived ? 'archived' : released ? 'released' : 'unreleased';
  const state = VERSION_STATE[rawState];
  // Not in Jira's answers; read when a payload carries the project's key.
  const project = read(optionalString, 'projectKey', undefined) ?? read(optionalString, 'project', undefined) ?? '';
  const releaseDate = isoDate(read(nullishDay, 'releaseDate', null), 'releaseDate');
  const milestoneId = `version/${v.id}`;
  const version = rowVersion(event.time, VERSION_RANK[state]);
  const row: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'version',
    name: read(anyString, 'name', ''),
    project,
    state,
    raw_state: rawState,
    start_date: isoDate(read(nullishDay, 'startDate', null), 'startDate'),
    committed_date: releaseDate,
    completed_at: released && releaseDate !== null ? `${releaseDate}T00:00:00.000Z` : null,
    ...ownerColumns(ctx.owners.owner('jiraProject', project)),
    // A version as Jira's REST API and webhooks send it names its project by id only: its issues then link it.
    url:
      project === ''
        ? `https://${siteOf(event)}/issues/?jql=${encodeURIComponent(`fixVersion = ${v.id}`)}`
        : `https://${siteOf(event)}/projects/${project}/versions/${v.id}`,
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', [snapshotRow(event, milestoneId, releaseDate, version)])]);
}

/** A sprint's record time is when its state began (created, started, completed); the state rank breaks ties. */
function mapSprint(event: RawEvent, notes: FieldNotes): Outcome {
  const s = entityOf(sprintSchema, event, 'sprint');
  const read = <S extends z.ZodType>(schema: S, key: string, empty: z.infer<S>): z.infer<S> => notes.read(schema, s[key], key, empty);
  const mapped = SPRINT_STATE[s.state.toLowerCase()]!;
  const boardId = read(nullishNumber, 'originBoardId', null);
  const milestoneId = `sprint/${s.id}`;
  const committed = isoDate(read(nullishDay, 'endDate', null), 'endDate');
  const version = rowVersion(event.time, mapped.rank);
  const row: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'sprint',
    name: read(anyString, 'name', ''),
    // A sprint belongs to a board, which may span projects and teams.
    project: '',
    state: mapped.state,
    raw_state: s.state,
    start_date: isoDate(read(nullishDay, 'startDate', null), 'startDate'),
    committed_date: committed,
    completed_at: isoOrNull(read(optionalTime, 'completeDate', null), 'completeDate'),
    team: '',
    program: '',
    url:
      boardId === null || boardId === undefined
        ? ''
        : `https://${siteOf(event)}/secure/RapidBoard.jspa?rapidView=${boardId}&view=reporting&chart=sprintRetrospective&sprint=${s.id}`,
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', [snapshotRow(event, milestoneId, committed, version)])]);
}

/** What each entity cannot exist without, in either shape (see entityOf): the webhook checks the same. */
const entityRequired =
  (schema: z.ZodType, key: string): Requirement =>
  (data, event) => {
    const webhook = isObject(data) && isObject(data[key]);
    parsePayload(schema, webhook ? data[key] : data, event, webhook ? key : '');
  };

export const jiraMappers: SourceMappers = {
  source: 'jira',
  required: {
    'jira.issue': issueRequired,
    'jira.issue_deleted': entityRequired(deletedIssue, 'issue'),
    'jira.version': entityRequired(versionSchema, 'version'),
    'jira.sprint': entityRequired(sprintSchema, 'sprint'),
  },
  mappers: {
    'jira.issue': mapIssue,
    'jira.issue_deleted': mapIssueDeleted,
    'jira.version': mapVersion,
    'jira.sprint': (event, _ctx, notes) => mapSprint(event, notes),
  },
};
