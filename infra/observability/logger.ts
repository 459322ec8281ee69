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
