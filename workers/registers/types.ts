/**
 * The registers a program is run from (milestones, risks, decisions, action items, dependencies): lists
 * of the things a program lead acts on, read from the domain tables as they stood at an instant.
 *
 * A register is data: its columns and one ClickHouse SELECT giving its rows in the register's order. The
 * query reads the parameters of the metrics (MetricParams: {tz:String}, the stall, criticality and
 * decision settings) and:
 *   {as_of:DateTime64(3)}  the instant the register is taken at: an item counts when it existed then,
 *                          with its status, owner and due date as they were then (from the changelog)
 *   {recent_days:UInt32}   finished, decided or closed items within this many days before the instant
 *                          are listed after the open ones
 * Every row has the columns `key` (unique in the register), `program`, `team` and `url`, and the ones the
 * register declares. The program and team options keep the rows whose `scopeColumns` name them.
 */

export type RegisterId = 'milestones' | 'risks' | 'decisions' | 'actions' | 'dependencies';

/**
 * How a column's value reads: text; a title (shortened in a table); a date 'YYYY-MM-DD'; a time
 * 'YYYY-MM-DD hh:mm' in the metrics' time zone; a number of days or hours; a count; a probability (0 to 1);
 * yes/no; a list.
 */
export type ColumnKind = 'text' | 'title' | 'date' | 'time' | 'days' | 'hours' | 'count' | 'probability' | 'flag' | 'list';

export interface RegisterColumn {
  /** The column of the query and the field of the JSON and CSV output. */
  key: string;
  /** The table header. */
  header: string;
  kind: ColumnKind;
  /** Shown in the table on a terminal (every column is in JSON and CSV). */
  table: boolean;
}

export interface RegisterDefinition {
  id: RegisterId;
  title: string;
  /** One line: what is listed and in which order. */
  description: string;
  columns: RegisterColumn[];
  /** The rows, in the register's order. */
  rows: string;
  /** The columns a --program filter matches (any of them); default ['program']. */
  programColumns?: string[];
  /** The columns a --team filter matches (any of them); default ['team']. */
  teamColumns?: string[];
  /** The row as the dashboards' register table (register_rows) holds it, with its colour. */
  board(row: RegisterRow): BoardRow;
  /** The register in a few words, for a one-line overview of every register: "2 of 10 milestones overdue or slipped". */
  headline(rows: RegisterRow[]): string;
  /** The register's headline figures, from its rows: lines a person reads first. */
  summarize(rows: RegisterRow[], window: { recentDays: number }): string[];
}

/** The common columns of a register row on the dashboards. */
export interface BoardRow {
  item: string;
  title: string;
  owner: string;
  status: string;
  /** red: act now (overdue, stalled across programs, a high risk nobody owns); amber: watch; green: fine. */
  flag: 'red' | 'amber' | 'green';
  why: string;
  due: string | null;
  milestone: string;
  milestone_date: string | null;
}

/** A register row: the query's columns, typed by their kind (numbers, strings, booleans, lists, null). */
export type RegisterRow = Record<string, string | number | boolean | string[] | null>;

export interface RegisterResult {
  register: RegisterId;
  title: string;
  /** The instant it was taken at (ISO 8601). */
  asOf: string;
  program: string | null;
  team: string | null;
  recentDays: number;
  summary: string[];
  columns: RegisterColumn[];
  rows: RegisterRow[];
}

/** A column of the given kind, shown in the table unless `table` is false. */
export const col = (key: string, header: string, kind: ColumnKind, table = true): RegisterColumn => ({ key, header, kind, table });

/** A flag as a query returns it (1, true or '1') read as a boolean. */
export const yes = (v: RegisterRow[string] | undefined): boolean => v === true || v === 1 || v === '1';

/** A text column of a row ('' when null). */
export const text = (v: RegisterRow[string] | undefined): string =>
  v === null || v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);

/** A date column of a row (null when empty). */
export const dateOf = (v: RegisterRow[string] | undefined): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, 10) : null);

/** The columns that open a work-item register: its key (headed `label`), title, owner, program and team. */
export const itemColumns = (label: string): RegisterColumn[] => [
  col('item', label, 'text'),
  col('title', 'title', 'title'),
  col('owner', 'owner', 'text'),
  col('program', 'program', 'text'),
  col('team', 'team', 'text'),
];

/** The columns that close a work-item register: the milestone it affects, its date and the item's URL (JSON and CSV only). */
export const TRAILING_COLUMNS: RegisterColumn[] = [
  col('milestone', 'milestone', 'text', false),
  col('milestone_date', 'milestone date', 'date', false),
  col('url', 'url', 'text', false),
];

/** The board columns every work-item register reads the same way: key, title, owner, status and milestone. */
export const itemBoard = (r: RegisterRow): Pick<BoardRow, 'item' | 'title' | 'owner' | 'status' | 'milestone' | 'milestone_date'> => ({
  item: text(r['item']),
  title: text(r['title']),
  owner: text(r['owner']),
  status: text(r['status']),
  milestone: text(r['milestone']),
  milestone_date: dateOf(r['milestone_date']),
});
