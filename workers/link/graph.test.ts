import { describe, expect, it } from 'vitest';
import { CommitGraph, type GraphCommit } from './graph.js';

/** Commits named by letters, each one minute after its first parent. */
function graph(edges: Record<string, string[]>, unknownParents: string[] = []): CommitGraph {
  const order = Object.keys(edges);
  const commits: GraphCommit[] = order.map((sha, i) => ({
    sha,
    parents: edges[sha]!,
    parentsKnown: !unknownParents.includes(sha),
    committedAt: Date.UTC(2026, 0, 1) + i * 60_000,
  }));
  return new CommitGraph(commits);
}

describe('commit graph', () => {
  //  a - b - c - d (main)      e - f branch from b, merged at g
  //        \         \
  //         e - f --- g
  const g = graph({ a: [], b: ['a'], c: ['b'], e: ['b'], d: ['c'], f: ['e'], g: ['d', 'f'] });

  it('gives the commits of head not reachable from the excluded ones, newest first', () => {
    expect(g.range('d', ['b']).shas).toEqual(['d', 'c']);
    expect(g.range('g', ['d']).shas).toEqual(['g', 'f', 'e']);
    expect(g.range('g', ['c']).shas.sort()).toEqual(['d', 'e', 'f', 'g']);
    expect(g.range('d', []).shas).toEqual(['d', 'c', 'b', 'a']);
    expect(g.range('b', ['d']).shas).toEqual([]);
    expect(g.range('d', ['d']).shas).toEqual([]);
  });

  it('tells ancestors apart', () => {
    expect(g.isAncestor('b', 'g')).toBe(true);
    expect(g.isAncestor('f', 'd')).toBe(false);
    expect(g.isAncestor('g', 'g')).toBe(false);
    expect(g.isAncestor('zz', 'g')).toBe(false);
  });

  it('says when the walk crossed inferred or missing parents', () => {
    const holes = graph({ b: ['a'], c: ['b'], d: ['c'] }, ['d']);
    expect(holes.range('c', ['b'])).toEqual({ shas: ['c'], complete: true });
    expect(holes.range('d', ['c'])).toEqual({ shas: ['d'], complete: false });
    // b's parent a was never seen: walking past b meets a hole
    expect(holes.range('c', []).complete).toBe(false);
    expect(holes.range('unknown', ['b'])).toEqual({ shas: [], complete: false });
  });

  it('walks a long linear history only as far as the range', () => {
    const n = 200_000;
    const commits: GraphCommit[] = [];
    for (let i = 0; i < n; i++)
      commits.push({ sha: `c${i}`, parents: i === 0 ? [] : [`c${i - 1}`], parentsKnown: true, committedAt: i * 1000 });
    const long = new CommitGraph(commits);
    expect(long.range(`c${n - 1}`, [`c${n - 4}`]).shas).toEqual([`c${n - 1}`, `c${n - 2}`, `c${n - 3}`]);
    expect(long.isAncestor('c10', `c${n - 1}`)).toBe(true);
  });
});
