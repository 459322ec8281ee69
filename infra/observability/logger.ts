import { format } from 'node:util';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths redacted from every log line. Secrets reach the process only through the environment, but
 * they can still travel inside objects a caller logs (client options, request headers, errors).
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  'apiKey',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.apiKey',
  '*.sasl.password',
  'headers.authorization',
  'headers["x-hub-signature-256"]',
  'headers["x-gitlab-token"]',
  'config.secrets',
  'secrets',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; defaults to stderr so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
  /**
   * A log file (appended to, its folder created) that gets every line at `level`; `destination` then
   * gets only the lines at `destinationLevel` or above, e.g. warnings on the terminal and the rest in the file.
   */
  file?: string;
  /** The least level `destination` gets when `file` is given (default: `level`); 'silent' for none. */
  destinationLevel?: LevelWithSilent;
}

const LEVEL_ORDER: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const settings = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const terminal = options.destination ?? pino.destination({ dest: 2, sync: true });
  if (options.file === undefined || level === 'silent') return pino(settings, terminal);
  const file = pino.destination({ dest: options.file, sync: true, mkdir: true, append: true });
  // The terminal never gets more than the file: its level is at least the logger's.
  const wanted = options.destinationLevel ?? level;
  const terminalLevel = LEVEL_ORDER.indexOf(wanted) < LEVEL_ORDER.indexOf(level) ? level : wanted;
  const streams: pino.StreamEntry[] = [{ level, stream: file }];
  if (terminalLevel !== 'silent') streams.push({ level: terminalLevel, stream: terminal });
  return pino(settings, pino.multistream(streams));
}

/** The console's methods and the level each one's message is logged at. */
const CONSOLE_LEVELS = {
  error: 'error',
  warn: 'warn',
  info: 'info',
  log: 'info',
  debug: 'debug',
  trace: 'debug',
} as const satisfies Record<string, 'error' | 'warn' | 'info' | 'debug'>;

type ConsoleMethod = keyof typeof CONSOLE_LEVELS;

/** The loggers console output goes to, the latest last; the console's own methods while any is set. */
const consoleRoutes: Logger[] = [];
let consoleOriginals: Record<ConsoleMethod, (...args: unknown[]) => void> | undefined;

/**
 * Sends what is written with console.* to `logger`, one JSON line per call (component 'console'),
 * until the returned function is called. Some libraries the product uses write their warnings there
 * (BullMQ about the Redis eviction policy or version, ioredis about its ready check or an error event
 * nobody listens to): they then reach the same log as everything else. An Error given alone is
 * logged with its stack under `err`; anything else is formatted as console.log would, on one line.
 * Routes nest: the latest one set gets the output, and the console writes as before once every
 * route has been removed.
 */
export function routeConsole(logger: Logger): () => void {
  const log = logger.child({ component: 'console' });
  consoleRoutes.push(log);
  if (consoleOriginals === undefined) {
    const target = console as unknown as Record<ConsoleMethod, (...args: unknown[]) => void>;
    const methods = Object.keys(CONSOLE_LEVELS) as ConsoleMethod[];
    const originals = Object.fromEntries(methods.map((m) => [m, target[m]])) as Record<ConsoleMethod, (...args: unknown[]) => void>;
    for (const method of methods) {
      target[method] = (...args: unknown[]): void => {
        const to = consoleRoutes.at(-1);
        if (to === undefined) return;
        const level = CONSOLE_LEVELS[method];
        const [first] = args;
        if (args.length === 1 && first instanceof Error) to[level]({ err: first }, first.message);
        else
          to[level](
            format(...args)
              .replace(/\s*\n\s*/g, ' ')
              .trim(),
          );
      };
    }
    consoleOriginals = originals;
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    consoleRoutes.splice(consoleRoutes.lastIndexOf(log), 1);
    if (consoleRoutes.length > 0 || consoleOriginals === undefined) return;
    Object.assign(console, consoleOriginals);
    consoleOriginals = undefined;
  };
}
