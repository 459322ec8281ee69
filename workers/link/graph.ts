/**
 * A repository's commit graph in compact arrays, for the questions deployment linking asks: which
 * commits does A contain that B does not (git's `rev-list A ^B`), and is A an ancestor of B.
 */
export interface GraphCommit {
  sha: string;
  parents: string[];
  /** 0 when the parents were inferred (a push's order) rather than read from the commit. */
  parentsKnown: boolean;
  /** Milliseconds; the walk visits newer commits first, as git does. */
  committedAt: number;
}

export interface RangeResult {
  shas: string[];
  /** False when the walk met a missing parent or inferred parents: the range may be too wide or too narrow. */
  complete: boolean;
}

const FROM_HEAD = 1;
const FROM_EXCLUDED = 2;

export class CommitGraph {
  private readonly index = new Map<string, number>();
  private readonly shas: string[] = [];
  private readonly parents: Int32Array[] = [];
  private readonly known: Uint8Array;
  private readonly time: Float64Array;
  /** Parent shas that are not in the graph, per commit (rare: kept apart from the compact arrays). */
  private readonly missing = new Map<number, number>();

  constructor(commits: GraphCommit[]) {
    commits.forEach((c, i) => {
      this.index.set(c.sha, i);
      this.shas.push(c.sha);
    });
    this.known = new Uint8Array(commits.length);
    this.time = new Float64Array(commits.length);
    commits.forEach((c, i) => {
      const ps: number[] = [];
      let absent = 0;
      for (const p of c.parents) {
        const j = this.index.get(p);
        if (j === undefined) absent++;
        else ps.push(j);
      }
      if (absent > 0) this.missing.set(i, absent);
      this.parents.push(Int32Array.from(ps));
      this.known[i] = c.parentsKnown ? 1 : 0;
      this.time[i] = c.committedAt;
    });
  }

  get size(): number {
    return this.shas.length;
  }

  has(sha: string): boolean {
    return this.index.has(sha);
  }

  /**
   * The commits reachable from `head` and from none of `excluded`, newest first. Like git, the walk
   * goes by commit time and stops once every commit still queued is reachable from an excluded one, so
   * it costs about the size of the range rather than of the history.
   */
  range(head: string, excluded: string[]): RangeResult {
    const h = this.index.get(head);
    if (h === undefined) return { shas: [], complete: false };
    const flags = new Map<number, number>();
    const queued = new Set<number>();
    const queue = new MaxHeap(this.time);
    // Queued commits painted from the head alone: once none is left, nothing more can join the range.
    let headOnly = 0;
    const paint = (i: number, f: number): void => {
      const before = flags.get(i) ?? 0;
      const after = before | f;
      if (after === before) return;
      flags.set(i, after);
      if (queued.has(i)) {
        if (before === FROM_HEAD) headOnly--;
        return;
      }
      queued.add(i);
      queue.push(i);
      if (after === FROM_HEAD) headOnly++;
    };
    paint(h, FROM_HEAD);
    for (const e of excluded) {
      const i = this.index.get(e);
      if (i !== undefined) paint(i, FROM_EXCLUDED);
    }
    let complete = true;
    const reached: number[] = [];
    while (queue.size > 0 && headOnly > 0) {
      const i = queue.pop();
      queued.delete(i);
      const f = flags.get(i)!;
      if (f === FROM_HEAD) {
        headOnly--;
        reached.push(i);
        if (this.known[i] === 0 || this.missing.has(i)) complete = false;
      }
      for (const p of this.parents[i]!) paint(p, f);
    }
    const shas: string[] = [];
    for (const i of reached) if (flags.get(i) === FROM_HEAD) shas.push(this.shas[i]!);
    return { shas, complete };
  }

  /** Whether `ancestor` is reachable from `descendant` (a commit is not its own ancestor). */
  isAncestor(ancestor: string, descendant: string): boolean {
    if (ancestor === descendant || !this.index.has(ancestor) || !this.index.has(descendant)) return false;
    return this.range(ancestor, [descendant]).shas.length === 0;
  }
}

/** A binary max-heap of commit indexes ordered by commit time (ties by index, for a stable walk). */
class MaxHeap {
  private readonly items: number[] = [];
  constructor(private readonly time: Float64Array) {}

  get size(): number {
    return this.items.length;
  }

  private above(a: number, b: number): boolean {
    const ta = this.time[a]!;
    const tb = this.time[b]!;
    return ta > tb || (ta === tb && a > b);
  }

  push(i: number): void {
    const h = this.items;
    h.push(i);
    let k = h.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.above(h[k]!, h[parent]!)) break;
      [h[k], h[parent]] = [h[parent]!, h[k]!];
      k = parent;
    }
  }

  pop(): number {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && this.above(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.above(h[r]!, h[m]!)) m = r;
        if (m === k) break;
        [h[k], h[m]] = [h[m]!, h[k]!];
        k = m;
      }
    }
    return top;
  }
}
