/**
 * The forecast's seeded random numbers. A forecast is a function of its inputs and seed: every draw comes
 * from here, and each trial has streams of its own (derived from the seed and the trial's number), so a
 * what-if that changes how many draws one trial takes leaves every other trial's draws as they were.
 */

/**
 * mulberry32: 32 bits of state, a few integer operations per draw, statistically fine for simulation
 * (never for security). A class rather than a closure so a hot loop can reseed one instance per trial
 * without allocating.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  reseed(seed: number): void {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** murmur3's 32-bit finalizer: neighbouring inputs give unrelated outputs. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed for stream `n` (a trial, a purpose) under `seed`. */
export function streamSeed(seed: number, n: number): number {
  return fmix32((seed ^ fmix32(Math.imul(n + 1, 0x9e3779b9))) >>> 0);
}

/** A seed named by a label under `seed` (FNV-1a of the label, then mixed), so each milestone has its own streams. */
export function labelSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return fmix32(h);
}
