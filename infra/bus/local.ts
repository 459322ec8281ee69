import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  openSync,
  closeSync,
  fsyncSync,
  writeSync,
  rmSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { backoffDelay, sleepUnlessStopped } from '../retry.js';
import type { Bus, BusMessage, ConsumeOptions, OutgoingMessage, Subscription, TopicSpec } from './types.js';

/**
 * The in-process bus of embedded mode, with the same contract as Kafka: a publish resolves once the
 * messages are fsynced to an append-only log on disk, consumers commit offsets per group after their
 * handler resolved, and a crash loses nothing that was acknowledged. One partition per topic (one
 * process reads it, so per-key order is the log's order). Segments that every group has consumed
 * are deleted.
 */
export interface LocalBusOptions {
  dir: string;
  /** A segment is closed and a new one started past this size. */
  segmentBytes?: number;
  /** How long an idle consumer waits before it looks at the log again (a publish wakes it sooner). */
  pollMs?: number;
  /** Stamps each message with its publish time, and times a failed handler's back-off (default: the wall clock). */
  clock?: Clock;
}

/**
 * A message in the log: a line of JSON with its offset, key, headers and publish time, then, when
 * `n` is set, a line of its value's `n` bytes exactly as published (written without escaping, read
 * without a copy through JSON). Logs written before `n` existed hold the value in the header line:
 * `v` as text, or `b` as base64 for bytes that are not valid UTF-8.
 */
interface StoredLine {
  o: number;
  k: string | null;
  h?: Record<string, string>;
  t: number;
  n?: number;
  v?: string;
  b?: string;
}

const NEWLINE = 0x0a;

/** A message read from a segment's bytes, and where the next one starts. */
interface ReadMessage {
  line: StoredLine;
  value: Buffer;
  end: number;
}

/** The message at `pos` of `data`, or undefined when it is cut short or garbled (a crash mid-append). */
function messageAt(data: Buffer, pos: number): ReadMessage | undefined {
  const nl = data.indexOf(NEWLINE, pos);
  if (nl === -1) return undefined;
  let line: StoredLine;
  try {
    line = JSON.parse(data.toString('utf8', pos, nl)) as StoredLine;
  } catch {
    return undefined;
  }
  if (line.n === undefined) {
    const value = line.v !== undefined ? Buffer.from(line.v, 'utf8') : Buffer.from(line.b ?? '', 'base64');
    return { line, value, end: nl + 1 };
  }
  const end = nl + 1 + line.n;
  if (!Number.isSafeInteger(line.n) || line.n < 0 || end >= data.length || data[end] !== NEWLINE) return undefined;
  return { line, value: Buffer.from(data.subarray(nl + 1, end)), end: end + 1 };
}

interface Segment {
  base: number;
  file: string;
  /** Byte position of each message in the file; message `base + i` starts at positions[i]. */
  positions: number[];
  size: number;
}

/** A publish waiting for the write that makes it durable; `at` is its publish time. */
interface PendingAppend {
  messages: OutgoingMessage[];
  at: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A message's bytes in the log (see StoredLine): its header line, then its value's line. */
function storedMessage(m: OutgoingMessage, offset: number, at: number): Buffer[] {
  const value = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : m.value;
  const line: StoredLine = { o: offset, k: m.key, t: at };
  if (m.headers !== undefined && Object.keys(m.headers).length > 0) line.h = m.headers;
  line.n = value.length;
  return [Buffer.from(`${JSON.stringify(line)}\n`, 'utf8'), value, NEWLINE_BYTE];
}

const NEWLINE_BYTE = Buffer.from('\n');

const SEGMENT_NAME = /^(\d{20})\.log$/;

class TopicLog {
  readonly segments: Segment[] = [];
  private appendFd: FileHandle | undefined;
  /** Appends waiting for the next write; `flushing` is the write under way, if any. */
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  /** A write or datasync failed: the active segment may hold bytes past `size`. */
  private torn = false;
  private waiters: Array<() => void> = [];

  constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    private readonly clock: Clock,
  ) {
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir)
      .map((n) => SEGMENT_NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    for (const m of names) this.segments.push(loadSegment(path.join(dir, m[0]), Number(m[1])));
    if (this.segments.length === 0) this.segments.push(newSegment(dir, 0));
  }

  get start(): number {
    return this.segments[0]!.base;
  }

  get end(): number {
    const last = this.segments[this.segments.length - 1]!;
    return last.base + last.positions.length;
  }

  /**
   * Appends `messages` after everything appended before; resolves once they are fdatasynced. Appends
   * made while a write is on its way wait for it and then go together: one write and one datasync
   * for all of them (group commit), each resolving only after the datasync that covers its bytes, and
   * each rejected when that write or datasync fails. Consumers see the messages only once durable.
   */
  append(messages: OutgoingMessage[]): Promise<void> {
    const at = this.clock.now();
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, at, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes what is queued, round after round, until nothing is; the queue is taken whole each round. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const round = this.queue;
        this.queue = [];
        try {
          await this.writeDurably(round);
        } catch (err) {
          for (const a of round) a.reject(err);
          continue;
        }
        for (const a of round) a.resolve();
        this.wakeAll();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeDurably(round: PendingAppend[]): Promise<void> {
    let active = this.segments[this.segments.length - 1]!;
    // After a failed write the file may hold bytes past the last durable message: they are cut off first.
    if (this.torn) {
      await this.appendFd?.close().catch(() => undefined);
      this.appendFd = undefined;
      truncateSync(active.file, active.size);
      this.torn = false;
    }
    if (active.size >= this.segmentBytes) {
      await this.appendFd?.close();
      this.appendFd = undefined;
      active = newSegment(this.dir, this.end);
      this.segments.push(active);
    }
    this.appendFd ??= await open(active.file, 'a');
    let offset = this.end;
    const parts: Buffer[] = [];
    const positions: number[] = [];
    let pos = active.size;
    for (const a of round) {
      for (const m of a.messages) {
        positions.push(pos);
        for (const part of storedMessage(m, offset++, a.at)) {
          pos += part.length;
          parts.push(part);
        }
      }
    }
    try {
      // The bytes are copied to the page cache on this thread (a trip through the thread pool costs more
      // than the copy); the datasync, which waits for the disk, goes to the pool.
      const data = Buffer.concat(parts, pos - active.size);
      for (let done = 0; done < data.length;) done += writeSync(this.appendFd.fd, data, done);
      await this.appendFd.datasync();
    } catch (err) {
      this.torn = true;
      throw err;
    }
    active.positions.push(...positions);
    active.size = pos;
  }

  /** Resolves once every append made so far has been written or has failed. */
  private async settled(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  async read(from: number, max: number, topic: string): Promise<BusMessage[]> {
    const out: BusMessage[] = [];
    let offset = Math.max(from, this.start);
    while (out.length < max && offset < this.end) {
      const seg = this.segments.find((s) => offset >= s.base && offset < s.base + s.positions.length);
      if (seg === undefined) break;
      const i = offset - seg.base;
      const j = Math.min(seg.positions.length, i + (max - out.length));
      const startPos = seg.positions[i]!;
      const endPos = j < seg.positions.length ? seg.positions[j]! : seg.size;
      const fh = await open(seg.file, 'r');
      try {
        const buf = Buffer.alloc(endPos - startPos);
        await fh.read(buf, 0, buf.length, startPos);
        for (let pos = 0; pos < buf.length;) {
          const m = messageAt(buf, pos);
          // Only durable messages are indexed, and loading cut off whatever was torn: this is a damaged file.
          if (m === undefined) throw new Error(`${seg.file}: the message at byte ${startPos + pos} cannot be read`);
          const { line, value } = m;
          out.push({
            topic,
            partition: 0,
            offset: String(line.o),
            key: line.k === null ? null : Buffer.from(line.k, 'utf8'),
            value,
            headers: line.h ?? {},
            timestamp: line.t,
          });
          pos = m.end;
        }
      } finally {
        await fh.close();
      }
      offset = seg.base + j;
    }
    return out;
  }

  /** Resolves at the next append or after `ms`, whichever is first. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  /** Deletes closed segments whose every message is below `minCommitted`. */
  async trim(minCommitted: number): Promise<void> {
    await this.settled();
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const next = this.segments[1]!;
      if (next.base > minCommitted) break;
      rmSync(first.file, { force: true });
      this.segments.shift();
    }
  }

  async close(): Promise<void> {
    await this.settled();
    await this.appendFd?.close();
    this.appendFd = undefined;
    this.wakeAll();
  }
}

function newSegment(dir: string, base: number): Segment {
  const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
  closeSync(openSync(file, 'a'));
  return { base, file, positions: [], size: 0 };
}

/** Reads a segment's message positions; a message torn by a crash mid-append, and all after it, is cut off. */
function loadSegment(file: string, base: number): Segment {
  const data = readFileSync(file);
  const positions: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const m = messageAt(data, pos);
    if (m === undefined || m.line.o !== base + positions.length) break;
    positions.push(pos);
    pos = m.end;
  }
  if (pos < statSync(file).size) truncateSync(file, pos);
  return { base, file, positions, size: pos };
}

type GroupOffsets = Record<string, number>;

export function createLocalBus(options: LocalBusOptions): Bus {
  const root = path.join(options.dir, 'bus');
  const offsetsDir = path.join(root, '_offsets');
  mkdirSync(offsetsDir, { recursive: true });
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  const pollMs = options.pollMs ?? 250;
  const clock = options.clock ?? systemClock;
  const logs = new Map<string, TopicLog>();
  const activeGroups = new Set<string>();
  const subscriptions = new Set<Subscription>();

  const logFor = (topic: string): TopicLog => {
    if (!/^[A-Za-z0-9._-]+$/.test(topic)) throw new Error(`topic name '${topic}' may only hold letters, digits, '.', '_' and '-'`);
    let log = logs.get(topic);
    if (log === undefined) {
      log = new TopicLog(path.join(root, topic), segmentBytes, clock);
      logs.set(topic, log);
    }
    return log;
  };
  const offsetsFile = (group: string): string => path.join(offsetsDir, `${encodeURIComponent(group)}.json`);
  const readOffsets = (group: string): GroupOffsets => {
    try {
      return JSON.parse(readFileSync(offsetsFile(group), 'utf8')) as GroupOffsets;
    } catch {
      return {};
    }
  };
  const writeOffsets = (group: string, offsets: GroupOffsets): void => {
    const file = offsetsFile(group);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(offsets));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  };
  const allGroups = (): string[] =>
    readdirSync(offsetsDir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => decodeURIComponent(n.slice(0, -5)));

  const trimTopic = async (topic: string): Promise<void> => {
    // Only closed segments can go: with one segment there is nothing to trim and no offsets to read.
    if (logFor(topic).segments.length < 2) return;
    const groups = allGroups();
    if (groups.length === 0) return;
    const min = Math.min(...groups.map((g) => readOffsets(g)[topic] ?? 0));
    await logFor(topic).trim(min);
  };

  return {
    kind: 'local',

    ensureTopics(topics: TopicSpec[]): Promise<void> {
      for (const t of topics) logFor(t.topic);
      return Promise.resolve();
    },

    async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
      if (messages.length === 0) return;
      await logFor(topic).append(messages);
    },

    consume(opts: ConsumeOptions): Promise<Subscription> {
      if (activeGroups.has(opts.groupId)) {
        return Promise.reject(new Error(`consumer group '${opts.groupId}' already has a consumer in this process`));
      }
      activeGroups.add(opts.groupId);
      const offsets = readOffsets(opts.groupId);
      const maxBatch = opts.maxBatchMessages ?? 5_000;
      let stopped = false;
      // Wakes a back-off wait at once on stop, whatever clock it waits on.
      const stopping = new AbortController();
      const heartbeat = (): Promise<void> => Promise.resolve();
      const loop = async (topic: string): Promise<void> => {
        const log = logFor(topic);
        let next = offsets[topic] ?? (opts.fromBeginning === false ? log.end : log.start);
        while (!stopped) {
          const messages = await log.read(next, maxBatch, topic);
          if (messages.length === 0) {
            if (log.end <= next) await log.waitForAppend(pollMs);
            continue;
          }
          const lastOffset = Number(messages[messages.length - 1]!.offset);
          const batch = { topic, partition: 0, messages, lag: log.end - lastOffset - 1 };
          let handled = false;
          for (let attempt = 0; !stopped; attempt++) {
            try {
              await opts.handler(batch, { heartbeat });
              handled = true;
              break;
            } catch (err) {
              opts.onError?.(err, batch);
              await sleepUnlessStopped(backoffDelay(attempt), () => stopped, undefined, { clock, signal: stopping.signal });
            }
          }
          if (!handled) return;
          next = lastOffset + 1;
          offsets[topic] = next;
          writeOffsets(opts.groupId, offsets);
          await trimTopic(topic);
        }
      };
      const loops = opts.topics.map((t) => loop(t));
      const sub: Subscription = {
        ready: Promise.resolve(),
        async stop(): Promise<void> {
          if (stopped) return;
          stopped = true;
          stopping.abort();
          for (const t of opts.topics) logFor(t).wakeAll();
          await Promise.allSettled(loops);
          activeGroups.delete(opts.groupId);
          subscriptions.delete(sub);
        },
      };
      subscriptions.add(sub);
      return Promise.resolve(sub);
    },

    lag(groupId: string, topic: string) {
      const log = logFor(topic);
      const committed = readOffsets(groupId)[topic] ?? log.start;
      return Promise.resolve([{ partition: 0, committed, end: log.end }]);
    },

    async close(): Promise<void> {
      await Promise.allSettled([...subscriptions].map((s) => s.stop()));
      for (const log of logs.values()) await log.close();
      logs.clear();
    },
  };
}
