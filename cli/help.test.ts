import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';
import { commandHelp, GLOBAL_OPTIONS } from './help.js';

/** `--name` as a word of its own: not the start of a longer option (--as in --as-of). */
const mentioned = (text: string, name: string): boolean => new RegExp(`--${name}(?![\\w-])`).test(text);

/**
 * A line saying what the option does: it starts with the option (after `-x, ` for a short form), and
 * words follow its value placeholder.
 */
const described = (text: string, name: string): boolean =>
  text
    .split('\n')
    .some((line) => new RegExp(`^\\s*(?:-\\w,\\s*)?--${name}(?![\\w-])(?:\\s+[A-Z][A-Z_|.[\\]]*)?\\s*[:\\s]\\s*\\S`).test(line));

describe('every command says what each of its options does in --help', () => {
  const commands = Object.entries(COMMANDS);

  it('mentions every option of every command as --name in its usage', () => {
    const missing = commands.flatMap(([name, c]) =>
      Object.keys(c.options ?? {})
        .filter((o) => !mentioned(c.usage, o))
        .map((o) => `ptel ${name}: --${o}`),
    );
    expect(missing, 'options the usage text does not mention').toEqual([]);
  });

  it('gives every option of every command a line of its own that says what it does', () => {
    const undescribed = commands.flatMap(([name, c]) =>
      Object.keys(c.options ?? {})
        .filter((o) => !described(c.usage, o))
        .map((o) => `ptel ${name}: --${o}`),
    );
    expect(undescribed, 'options with no line of their own in the usage text').toEqual([]);
  });

  it('mentions no option that no command takes (a stale or misspelt name)', () => {
    const known = new Set([...commands.flatMap(([, c]) => Object.keys(c.options ?? {})), ...Object.keys(GLOBAL_OPTIONS)]);
    const stale = commands.flatMap(([name, c]) =>
      [...c.usage.matchAll(/(?<![\w-])--([a-z][\w-]*)/g)]
        .map((m) => m[1]!)
        .filter((o) => !known.has(o))
        .map((o) => `ptel ${name}: --${o}`),
    );
    expect([...new Set(stale)], 'options the usage text mentions but no command takes').toEqual([]);
  });

  it('adds the options every command takes to each command help', () => {
    for (const [name, c] of commands) {
      const help = commandHelp(c);
      expect(help.startsWith(c.usage), name).toBe(true);
      for (const o of Object.keys(GLOBAL_OPTIONS)) expect(described(help, o), `ptel ${name} --help: --${o}`).toBe(true);
    }
  });

  it('finds an option left out, and one mentioned only in passing', () => {
    expect(mentioned('usage: ptel x [--as-of INSTANT]', 'as')).toBe(false);
    expect(mentioned('usage: ptel x [--as-of INSTANT]', 'as-of')).toBe(true);
    expect(described('usage: ptel x [--limit N]', 'limit')).toBe(false);
    expect(described('usage: ptel x [--limit N]\n  --limit N  how many to list', 'limit')).toBe(true);
    expect(described('  -c, --config FILE  configuration file', 'config')).toBe(true);
    expect(described('  --all: resolved ones too', 'all')).toBe(true);
    expect(described('  --once', 'once')).toBe(false);
  });
});
