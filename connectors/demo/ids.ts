import type { Rng } from './prng.js';

/**
 * GitHub ids grow with creation time across all of github.com; ids here do the same (a base plus a
 * rate per second since an epoch), so sorting by id sorts by creation, as it does with real data.
 */
const GITHUB_ID_RATES = {
  pullRequest: { base: 2_100_000_000, perSecond: 12 },
  review: { base: 2_300_000_000, perSecond: 16 },
  deployment: { base: 1_900_000_000, perSecond: 3 },
  deploymentStatus: { base: 8_500_000_000, perSecond: 9 },
  release: { base: 160_000_000, perSecond: 1 },
  workflowRun: { base: 11_000_000_000, perSecond: 110 },
  checkSuite: { base: 30_000_000_000, perSecond: 180 },
  job: { base: 32_000_000_000, perSecond: 300 },
  label: { base: 5_000_000_000, perSecond: 20 },
} as const;

export type GithubIdKind = keyof typeof GITHUB_ID_RATES;

const ID_EPOCH = Date.UTC(2024, 0, 1);
const PD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class IdFactory {
  private readonly used = new Set<string>();

  constructor(private readonly rng: Rng) {}

  private claim(key: string): boolean {
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }

  /** A numeric id of `kind` created at `at`, unique within the kind. */
  github(kind: GithubIdKind, at: number): number {
    const { base, perSecond } = GITHUB_ID_RATES[kind];
    let id = base + Math.max(0, Math.floor(((at - ID_EPOCH) / 1000) * perSecond)) + this.rng.int(0, perSecond);
    while (!this.claim(`${kind}:${id}`)) id++;
    return id;
  }

  /** Any other unique integer in [lo, hi] (users, repositories, workflows). */
  integer(kind: string, lo: number, hi: number): number {
    for (;;) {
      const id = this.rng.int(lo, hi);
      if (this.claim(`${kind}:${id}`)) return id;
    }
  }

  /** PagerDuty object ids: `P` and six upper-case letters or digits (services, users, incidents). */
  pagerduty(): string {
    for (;;) {
      const id = `P${this.rng.chars(PD_ALPHABET, 6)}`;
      if (this.claim(`pd:${id}`)) return id;
    }
  }

  /** PagerDuty log entry ids: 26 upper-case letters or digits starting with `R`. */
  pagerdutyLogEntry(): string {
    for (;;) {
      const id = `R${this.rng.chars(PD_ALPHABET, 25)}`;
      if (this.claim(`pdlog:${id}`)) return id;
    }
  }

  /** Git object ids (40 hex). */
  sha(): string {
    for (;;) {
      const sha = this.rng.hex(40);
      if (this.claim(`sha:${sha}`)) return sha;
    }
  }
}

/** GitHub's legacy global node id: base64 of `<len>:<Type><id>`, still accepted everywhere. */
export function legacyNodeId(type: string, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}
