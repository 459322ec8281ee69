import type { ParseArgsConfig } from 'node:util';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../app/runtime.js';
import { routeConsole } from '../infra/observability/logger.js';

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
  /** Where a command reads the variables it takes besides the configuration (default: the process's environment). */
  env?: NodeJS.ProcessEnv;
}

export interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  positionals?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/**
 * Builds the runtime, runs `fn`, and always closes the runtime in the shutdown order. Meanwhile what
 * libraries write on the console goes to the runtime's logger, so every log line is JSON.
 */
export async function withRuntime(config: Config, fn: (rt: Runtime) => Promise<number>, options?: RuntimeOptions): Promise<number> {
  const rt = await createRuntime(config, options);
  const unroute = routeConsole(rt.logger);
  try {
    return await fn(rt);
  } finally {
    try {
      await rt.close();
    } finally {
      unroute();
    }
  }
}

/**
 * Like withRuntime, for commands that need only the store: while `ptel run` holds the embedded data
 * folder, they work on the store it serves instead of being refused.
 */
export function withStore(config: Config, fn: (rt: Runtime) => Promise<number>): Promise<number> {
  return withRuntime(config, fn, { attach: true });
}
