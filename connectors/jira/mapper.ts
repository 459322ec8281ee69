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
import { MappingError, ok, parsePayload, type MapContext, type Outcome, type SourceMappers } from '../../mapping/registry.js';
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
const versionRef = z.array(z.looseObject({ id: z.string() })).nullish();

const issueFields = z.looseObject({
  updated: z.string(),
  created: z.string(),
  summary: z.string(),
  project: z.looseObject({ key: z.string() }),
  issuetype: z.looseObject({ name: z.string(), subtask: z.boolean().optional(), hierarchyLevel: z.number().optional() }),
  status: z.looseObject({ name: z.string(), statusCategory: z.looseObject({ key: z.string() }).optional() }),
  priority: z.looseObject({ name: z.string() }).nullish(),
  assignee: user,
  reporter: user,
  components: z.array(z.looseObject({ name: z.string() })).nullish(),
  labels: z.array(z.string()).nullish(),
  duedate: z.string().nullish(),
  fixVersions: versionRef,
  versions: versionRef,
  parent: z.looseObject({ id: z.string() }).nullish(),
  environment: z.unknown().optional(),
  resolution: z.looseObject({ name: z.string() }).nullish(),
  resolutiondate: z.string().nullish(),
  issuelinks: z.array(issueLink).nullish(),
});
const issueSchema = z.looseObject({ id: z.string(), key: z.string(), fields: issueFields });
type JiraIssue = z.infer<typeof issueSchema>;

const history = z.looseObject({ id: z.string(), created: z.string(), author: user, items: z.array(changeItem) });
type History = z.infer<typeof history>;

/** Pull: the REST issue with its changelog (search with expand=changelog). */
const pulledIssue = issueSchema.extend({ changelog: z.looseObject({ histories: z.array(history).default([]) }).nullish() });

/** Webhook: the delivery, whose changelog is the one change that caused it, without a time of its own. */
const issueDelivery = z.looseObject({
  webhookEvent: z.string().optional(),
  issue: issueSchema,
  user: user,
  changelog: z.looseObject({ id: z.union([z.string(), z.number()]), items: z.array(changeItem) }).nullish(),
});

const deletedIssue = z.looseObject({
  id: z.string(),
  key: z.string().optional(),
  project: z.looseObject({ key: z.string() }).optional(),
  fields: z
    .looseObject({
      project: z.looseObject({ key: z.string() }).optional(),
      issuetype: z.looseObject({ name: z.string() }).optional(),
    })
    .optional(),
});

const versionSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  archived: z.boolean().optional(),
  released: z.boolean().optional(),
  releaseDate: z.string().nullish(),
  startDate: z.string().nullish(),
  /** Not in Jira's answers; read when a payload carries the project's key. */
  project: z.string().optional(),
  projectKey: z.string().optional(),
});

const sprintSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  state: z.string(),
  startDate: z.string().nullish(),
  endDate: z.string().nullish(),
  completeDate: z.string().nullish(),
  originBoardId: z.number().optional(),
});

/** Custom field values, by the kind of field the site configured. */
const option = z
  .union([z.string(), z.looseObject({ value: z.string() }), z.array(z.union([z.string(), z.looseObject({ value: z.string() })]))])
  .nullish();
const sprintField = z.array(z.union([z.looseObject({ id: z.number() }), z.string()])).nullish();

// ---------------------------------------------------------------------------------------------------
// Shared helpers

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** Subjects are `<site>/issue/<id>`, `<site>/version/<id>`, `<site>/sprint/<id>`. */
const siteOf = (event: RawEvent): string => event.subject.slice(0, event.subject.indexOf('/'));

/** The stable account id: accountId on Cloud, the user key (else name) on Data Center. */
const person = (ctx: MapContext, u: z.infer<typeof user>): string => ctx.people.id(SOURCE, u?.accountId ?? u?.key ?? u?.name);

function kindOf(t: JiraIssue['fields']['issuetype'], model: ModelConfig): WorkItemKind {
  const name = t.name.toLowerCase();
  for (const [kind, names] of Object.entries(model.workItems.types)) {
    if (names.some((n) => n.toLowerCase() === name)) return kind as WorkItemKind;
  }
  if (t.subtask === true || t.hierarchyLevel === -1) return 'subtask';
  if (t.hierarchyLevel === 1) return 'epic';
  return 'other';
}

function statusCategoryOf(issue: JiraIssue, model: ModelConfig, event: RawEvent, at: string): StatusCategory {
  const name = issue.fields.status.name.toLowerCase();
  for (const [status, category] of Object.entries(model.workItems.statusCategories)) if (status.toLowerCase() === name) return category;
  const key = issue.fields.status.statusCategory?.key;
  const field = `${event.type} ${event.subject}: field '${at}fields.status.statusCategory.key'`;
  if (key === undefined) throw new MappingError('invalid_payload', `${field}: missing, and no status category is configured for '${name}'`);
  const category = STATUS_CATEGORY[key];
  if (category === undefined) throw new MappingError('invalid_payload', `${field}: unknown status category '${key}'`);
  return category;
}

/** A custom field's value checked against what that kind of field holds. */
function custom<S extends z.ZodType>(
  schema: S,
  issue: JiraIssue,
  id: string | undefined,
  event: RawEvent,
  at: string,
): z.infer<S> | undefined {
  if (id === undefined) return undefined;
  return parsePayload(schema, (issue.fields as Record<string, unknown>)[id], event, `${at}fields.${id}`);
}

const optionText = (v: z.infer<typeof option>): string => {
  if (v === null || v === undefined) return '';
  const values = Array.isArray(v) ? v : [v];
  return values.map((o) => (typeof o === 'string' ? o : o.value)).join(', ');
};

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

/** One change group of the changelog, whichever shape it came in. */
interface Change {
  id: string;
  created: string;
  author?: z.infer<typeof user> | undefined;
  items: ChangeItem[];
}

interface IssueVersion {
  issue: JiraIssue;
  changes: Change[];
  /** Where the issue sits in the payload, for error messages: '' (pull) or 'issue.' (webhook). */
  at: string;
}

/**
 * The issue and its changes from either shape. A webhook delivery has the issue under `issue`; a REST
 * issue never has that key. A delivery's change has no time: it is the change that made this version,
 * so its time is the issue's `updated` (Jira writes both in one transaction). The changelog of
 * jira:issue_created lists the initial values, which Jira's REST changelog never shows: it is left out
 * so an issue's history is the same whichever way it arrived.
 */
function issueVersion(event: RawEvent): IssueVersion {
  if (isObject(event.data) && isObject(event.data['issue'])) {
    const d = parsePayload(issueDelivery, event.data, event);
    const log = d.changelog;
    const changes =
      log === null || log === undefined || d.webhookEvent === 'jira:issue_created'
        ? []
        : [{ id: String(log.id), created: d.issue.fields.updated, author: d.user, items: log.items }];
    return { issue: d.issue, changes, at: 'issue.' };
  }
  const p = parsePayload(pulledIssue, event.data, event);
  const changes: History[] = p.changelog?.histories ?? [];
  return { issue: p, changes, at: '' };
}

function workItemRow(v: IssueVersion, event: RawEvent, ctx: MapContext): WorkItemRow {
  const { issue, at } = v;
  const f = issue.fields;
  const jf = ctx.jiraFields;
  const components = (f.components ?? []).map((c) => c.name);
  const foundIn = optionText(custom(option, issue, jf.foundIn, event, at));
  const priority = f.priority?.name ?? '';
  return {
    source: SOURCE,
    item_id: issue.id,
    key: issue.key,
    project: f.project.key,
    type: f.issuetype.name,
    kind: kindOf(f.issuetype, ctx.model),
    status: f.status.name,
    status_category: statusCategoryOf(issue, ctx.model, event, at),
    priority,
    priority_rank: PRIORITY_RANK[priority.toLowerCase()] ?? 0,
    assignee: person(ctx, f.assignee),
    reporter: person(ctx, f.reporter),
    components,
    labels: f.labels ?? [],
    due_date: isoDate(f.duedate, `${at}fields.duedate`),
    start_date: isoDate(custom(z.string().nullish(), issue, jf.startDate, event, at), `${at}fields.${jf.startDate}`),
    fix_versions: (f.fixVersions ?? []).map((x) => `version/${x.id}`),
    affects_versions: (f.versions ?? []).map((x) => `version/${x.id}`),
    sprints: (custom(sprintField, issue, jf.sprint, event, at) ?? [])
      .map(sprintId)
      .filter((id) => id !== '')
      .map((id) => `sprint/${id}`),
    parent_id: f.parent?.id ?? '',
    story_points: custom(z.number().nullish(), issue, jf.storyPoints, event, at) ?? null,
    severity: optionText(custom(option, issue, jf.severity, event, at)),
    found_in: foundIn !== '' ? foundIn : plainText(f.environment).slice(0, 200),
    created_at: iso(f.created, `${at}fields.created`),
    updated_at: iso(f.updated, `${at}fields.updated`),
    resolved_at: isoOrNull(f.resolutiondate, `${at}fields.resolutiondate`),
    resolution: f.resolution?.name ?? '',
    summary: f.summary,
    ...ownerColumns(
      ctx.owners.firstOwner([...components.map((c): ['jiraComponent', string] => ['jiraComponent', c]), ['jiraProject', f.project.key]]),
    ),
    url: `https://${siteOf(event)}/browse/${issue.key}`,
    raw_event_id: event.id,
    version: rowVersion(f.updated),
    is_deleted: 0,
  };
}

function historyRows(v: IssueVersion, event: RawEvent, ctx: MapContext): WorkItemHistoryRow[] {
  return v.changes.flatMap((c) =>
    c.items.map((item) => ({
      source: SOURCE,
      item_id: v.issue.id,
      history_id: c.id,
      field: item.field,
      field_id: item.fieldId ?? '',
      from_value: str(item.from),
      from_string: str(item.fromString),
      to_value: str(item.to),
      to_string: str(item.toString),
      changed_at: iso(c.created, 'changelog.created'),
      author: person(ctx, c.author),
      raw_event_id: event.id,
      // A change never changes, but every later version of the issue repeats it: the latest issue
      // version carrying it is cited, the same on every replay.
      version: rowVersion(event.time),
    })),
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

  const live = (issue.fields.issuelinks ?? []).flatMap((l): WorkItemLinkRow[] => {
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
        version: rowVersion(issue.fields.updated, (created === undefined ? 0 : 1) + (outward ? 2 : 0)),
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
): { milestones: MilestoneRow[]; dates: MilestoneDateRow[] } {
  const milestoneId = `epic/${item.item_id}`;
  const raw = (v.issue.fields as Record<string, unknown>)[dueField];
  const committed = dueField === 'duedate' ? item.due_date : typeof raw === 'string' && DAY_PREFIX.test(raw) ? raw.slice(0, 10) : null;
  const version = rowVersion(v.issue.fields.updated);
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
        committed_date: isoDate(str(i.to) !== '' ? str(i.to) : str(i.toString).slice(0, 10), 'changelog.items.to'),
        observed_at: iso(c.created, 'changelog.created'),
        basis: 'changelog',
        raw_event_id: event.id,
        // Repeated by every later issue version: cite the latest (see historyRows).
        version: rowVersion(event.time, 1),
      })),
  );
  return { milestones: [milestone], dates: [snapshot, ...changes] };
}

function mapIssue(event: RawEvent, ctx: MapContext): Outcome {
  const v = issueVersion(event);
  const item = workItemRow(v, event, ctx);
  const epic =
    item.kind === 'epic' && ctx.model.workItems.epicsAreMilestones
      ? epicRows(v, item, event, ctx.model.workItems.milestoneDueDateField)
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
function mapIssueDeleted(event: RawEvent, ctx: MapContext): Outcome {
  const webhook = isObject(event.data) && isObject(event.data['issue']);
  const d = parsePayload(
    deletedIssue,
    webhook ? (event.data as Record<string, unknown>)['issue'] : event.data,
    event,
    webhook ? 'issue' : '',
  );
  const project = d.fields?.project?.key ?? d.project?.key ?? '';
  const type = d.fields?.issuetype?.name ?? '';
  const kind = type === '' ? 'other' : kindOf({ name: type }, ctx.model);
  const at = iso(event.time, 'time');
  const version = rowVersion(event.time, 999);
  const owner = ownerColumns(ctx.owners.owner('jiraProject', project));
  const url = d.key === undefined ? '' : `https://${siteOf(event)}/browse/${d.key}`;
  const item: WorkItemRow = {
    source: SOURCE,
    item_id: d.id,
    key: d.key ?? '',
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
function mapVersion(event: RawEvent, ctx: MapContext): Outcome {
  const v = entityOf(versionSchema, event, 'version');
  const rawState = v.archived === true ? 'archived' : v.released === true ? 'released' : 'unreleased';
  const state = VERSION_STATE[rawState];
  const project = v.projectKey ?? v.project ?? '';
  const releaseDate = isoDate(v.releaseDate, 'releaseDate');
  const milestoneId = `version/${v.id}`;
  const version = rowVersion(event.time, VERSION_RANK[state]);
  const row: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'version',
    name: v.name,
    project,
    state,
    raw_state: rawState,
    start_date: isoDate(v.startDate, 'startDate'),
    committed_date: releaseDate,
    completed_at: v.released === true && releaseDate !== null ? `${releaseDate}T00:00:00.000Z` : null,
    ...ownerColumns(ctx.owners.owner('jiraProject', project)),
    url: project === '' ? '' : `https://${siteOf(event)}/projects/${project}/versions/${v.id}`,
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', [snapshotRow(event, milestoneId, releaseDate, version)])]);
}

/** A sprint's record time is when its state began (created, started, completed); the state rank breaks ties. */
function mapSprint(event: RawEvent): Outcome {
  const s = entityOf(sprintSchema, event, 'sprint');
  const mapped = SPRINT_STATE[s.state.toLowerCase()];
  if (mapped === undefined)
    throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field 'state': unknown sprint state '${s.state}'`);
  const milestoneId = `sprint/${s.id}`;
  const committed = isoDate(s.endDate, 'endDate');
  const version = rowVersion(event.time, mapped.rank);
  const row: MilestoneRow = {
    source: SOURCE,
    milestone_id: milestoneId,
    kind: 'sprint',
    name: s.name,
    // A sprint belongs to a board, which may span projects and teams.
    project: '',
    state: mapped.state,
    raw_state: s.state,
    start_date: isoDate(s.startDate, 'startDate'),
    committed_date: committed,
    completed_at: isoOrNull(s.completeDate, 'completeDate'),
    team: '',
    program: '',
    url:
      s.originBoardId === undefined
        ? ''
        : `https://${siteOf(event)}/secure/RapidBoard.jspa?rapidView=${s.originBoardId}&view=reporting&chart=sprintRetrospective&sprint=${s.id}`,
    raw_event_id: event.id,
    version,
    is_deleted: 0,
  };
  return ok([rowsOf('milestones', [row]), rowsOf('milestone_dates', [snapshotRow(event, milestoneId, committed, version)])]);
}

export const jiraMappers: SourceMappers = {
  source: 'jira',
  mappers: {
    'jira.issue': mapIssue,
    'jira.issue_deleted': mapIssueDeleted,
    'jira.version': mapVersion,
    'jira.sprint': (event) => mapSprint(event),
  },
};
