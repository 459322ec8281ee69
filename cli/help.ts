import type { ParseArgsConfig } from 'node:util';
import type { Command } from './command.js';

/** The options every command takes. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** What the options every command takes do, one line each. */
export const GLOBAL_OPTIONS_HELP = [
  '  -c, --config FILE  configuration file (default: $PTEL_CONFIG, else ./ptel.yaml when present)',
  '  -h, --help         this help',
];

/** A command's --help: its usage, then the options every command takes. */
export function commandHelp(command: Pick<Command, 'usage'>): string {
  return [command.usage, '', 'options for every command:', ...GLOBAL_OPTIONS_HELP].join('\n');
}
