import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { Source, SourceRecord } from '../../schemas/raw-event.js';

/** A cursor is plain JSON: what a stream needs to resume where the last acknowledged page ended. */
export type Cursor = Record<string, string | number | boolean | null>;

/** One page of a pull: the records, and the cursor that holds once they are on the bus. */
export interface Page {
  records: SourceRecord[];
  /** The cursor after this page; undefined keeps the previous one (e.g. mid-way through a newest-first listing). */
  cursor?: Cursor | undefined;
  /** Requests this page cost, for the progress display and the request-per-record figures. */
  requests?: number;
}

export interface StreamContext {
  config: Config;
  logger: Logger;
  /** Where the stream starts when it has no cursor, or the backfill's start. */
  since: Date;
  /** True for a backfill: read from `since`, whatever the cursor says. */
  backfill: boolean;
  signal: AbortSignal;
  /** Where the stream reads "now" (window ends, observation times, scan intervals). */
  clock: Clock;
}

/**
 * One incremental stream of a source (pull requests, issues, incidents, ...), pulled per scope (a
 * repository, a project, a board, a service). `pull` yields pages; the runner publishes each page's
 * records and only then stores its cursor, so a crash between the two re-reads a page (same event
 * ids, stored once) and never skips one.
 */
export interface Stream<Client> {
  name: string;
  /** The scopes this stream pulls, from the configuration. */
  scopes(config: Config): string[];
  pull(client: Client, scope: string, cursor: Cursor | undefined, ctx: StreamContext): AsyncIterable<Page>;
}

/** What `doctor` finds about one permission or setting. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * A pulled source's name (its config section sources.<name>, its cursors, schedule and `--source`): the
 * source of its events, or a name of its own for one that publishes another source's events (outcomes
 * publishes ingest events, each record naming its source).
 */
export type ConnectorName = Source | 'outcomes';

/** A pulled source: its client, its streams (a declarative list), and its checks. */
export interface Connector<Client = unknown> {
  source: ConnectorName;
  /**
   * What this source still needs before it can pull, as an instruction naming the config key or the
   * environment variable; undefined when it is ready. `doctor` prints it for a source not yet set up.
   */
  missing(config: Config): string | undefined;
  /**
   * Builds the client; nothing is sent before the first request. `clock` (default: the wall clock) is
   * where its rate-limit resets are counted from and its retry waits run, the sync's own clock.
   */
  client(config: Config, logger: Logger, clock?: Clock): Client;
  streams: Array<Stream<Client>>;
  /** Checks credentials and permissions, saying exactly what is missing. */
  doctor(client: Client, config: Config): Promise<Check[]>;
}

/** A verified webhook delivery turned into records; the raw body was already checked. */
export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  body: unknown;
  receivedAt: Date;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** A source's webhook: how a delivery is authenticated, and which records it carries. */
export interface WebhookSource {
  source: Source;
  /** Path under /webhooks/, e.g. 'github'. */
  path: string;
  /** Whether a secret is configured; without one the endpoint answers 404 rather than accept unsigned data. */
  enabled(config: Config): boolean;
  /** Checks the signature or token over the raw body, in constant time, before anything is parsed. */
  verify(rawBody: Buffer, headers: IncomingHttpHeaders, config: Config, now: Date): VerifyResult;
  /** The records in a delivery; an empty list for deliveries the pipeline has no use for (answered 202 all the same). */
  records(request: WebhookRequest, config: Config): SourceRecord[];
  /**
   * Whether a record carries what its entity cannot exist without (the same requirement its mapper
   * checks): undefined when it does, else the reason naming the field. A delivery with such a record
   * is answered 400 and nothing of it is published, so nothing accepted is dead-lettered later.
   */
  check?(record: SourceRecord): string | undefined;
  /** The endpoint's path when it is not /webhooks/<path> (the intake's /ingest/<kind>). */
  route?: string;
  /** What produced its events, RawEvent.connector (default `webhook/<source>`). */
  connector?: string;
  /** What the 404 says while it is not enabled, naming what to set (default: the source's webhook is not configured). */
  notEnabled?(config: Config): string;
  /**
   * Reads the verified body (default: JSON, an empty body being null); throws WebhookPayloadError for a
   * body it cannot read, answered 400.
   */
  parse?(rawBody: Buffer, headers: IncomingHttpHeaders): unknown;
}

export const isConfigured = (connector: Connector, config: Config): boolean => connector.missing(config) === undefined;
