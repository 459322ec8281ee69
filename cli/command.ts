import type { ParseArgsConfig } from 'node:util';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../app/runtime.js';

/** What a command gets: the resolved config, its parsed options and positionals, and where to write. */
export interface CommandContext {
  config: Config;
  /** Parsed options; a `multiple` option is an array. */
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** The clock a command's runtime reads "now" from (default: the system clock; tests pass their own). */
  clock?: Clock;
}

export interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  positionals?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** Builds the runtime, runs `fn`, and always closes the runtime in the shutdown order. */
export async function withRuntime(config: Config, fn: (rt: Runtime) => Promise<number>, options?: RuntimeOptions): Promise<number> {
  const rt = await createRuntime(config, options);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/**
 * Like withRuntime, for commands that need only the store: while `ptel run` holds the embedded data
 * folder, they work on the store it serves instead of being refused.
 */
export function withStore(config: Config, fn: (rt: Runtime) => Promise<number>): Promise<number> {
  return withRuntime(config, fn, { attach: true });
}
