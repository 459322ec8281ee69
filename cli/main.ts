#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import type { CommandContext } from './command.js';
import { COMMANDS } from './commands.js';
import { commandHelp, GLOBAL_OPTIONS, GLOBAL_OPTIONS_HELP } from './help.js';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: ptel <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'options for every command:',
    ...GLOBAL_OPTIONS_HELP,
    '',
    '`ptel <command> --help` lists what each option of a command does.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`ptel: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  let values: CommandContext['values'];
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`ptel ${name}: ${(err as Error).message}\n\n${command.usage}\n`);
    return 2;
  }
  if (values['help'] === true) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig({ file: values['config'] as string | undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ptel: ${err.message}\n`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const ctx: CommandContext = { config, values, positionals, out: process.stdout, err: process.stderr };
  try {
    return await command.run(ctx);
  } catch (err) {
    // A refusal or failure is said in one line; where it failed only when asked for (log level debug).
    const debug = config.log.level === 'debug' || config.log.level === 'trace';
    const text = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`ptel ${name}: ${text}\n${debug ? '' : '(PTEL_LOG_LEVEL=debug shows where it failed)\n'}`);
    return 1;
  }
}

// Output piped into a reader that stops early (ptel metrics | head): stop quietly, as other tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ptel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
