import { ImportError, importAndStore, nothingToPublish, readImport, type ImportResult, type ImportRows } from '../app/import.js';
import { FILE_EXTENSIONS } from '../connectors/ingest/index.js';
import { INGEST_KIND_NAMES } from '../schemas/ingest.js';
import { withRuntime, type Command, type CommandContext } from './command.js';

/** What `ptel import` says it did: published rows, skipped rows, and whether they are stored yet. */
export function importLines(r: ImportResult): { out: string[]; err: string[] } {
  const where = r.stored ? 'stored' : 'on the bus for the normalizers';
  const listed = r.refused.map((reason) => `  ${reason}`);
  if (r.heldBack)
    return {
      out: [],
      err: [
        `ptel import: ${r.refused.length} of ${r.rows} rows of ${r.file} refused, nothing imported` +
          (r.rows > r.refused.length ? ` (--skip-bad imports the other ${r.rows - r.refused.length}):` : ':'),
        ...listed,
      ],
    };
  const skipped = r.refused.length > 0 ? ` (${r.refused.length} skipped, listed below)` : '';
  return {
    out: [`imported ${r.published} ${r.kind} rows from ${r.file}${skipped}${r.published > 0 ? `; ${where}` : ''}`],
    err: r.refused.length > 0 ? ['skipped:', ...listed] : [],
  };
}

export const IMPORT_COMMANDS: Record<string, Command> = {
  import: {
    summary: 'take in rows of facts from outside the trackers (readiness checks, surveys, outcomes, adopters, FOCUS cost rows) from a file',
    usage: [
      'usage: ptel import KIND FILE [--skip-bad]',
      `  KIND        ${INGEST_KIND_NAMES.join(', ')}`,
      `  FILE        CSV with a header row, a JSON array, NDJSON or a YAML list, by its extension (${FILE_EXTENSIONS.join(' ')})`,
      '  --skip-bad  publish the good rows and list the refused ones (without it, one refused row and nothing is imported)',
      'Every row is checked against its kind (docs/ingest.md); a refused row is named by its row and line and the',
      'field at fault. The rows become ingest.<KIND> events on the bus; the same file imported again gives the',
      'same events, stored once. In embedded mode they are normalized and stored before the command ends.',
    ].join('\n'),
    options: { 'skip-bad': { type: 'boolean' } },
    positionals: true,
    async run(ctx: CommandContext) {
      const [kind, file, ...extra] = ctx.positionals;
      if (kind === undefined || file === undefined || extra.length > 0) {
        ctx.err.write(
          `ptel import: expected KIND and FILE, e.g. ptel import survey_response answers.csv; the kinds are ${INGEST_KIND_NAMES.join(', ')}\n`,
        );
        return 2;
      }
      const skipBad = ctx.values['skip-bad'] === true;
      // The file is read and checked first: a file that cannot be taken costs no runtime start.
      let read: ImportRows;
      try {
        read = await readImport(kind, file);
      } catch (err) {
        if (!(err instanceof ImportError)) throw err;
        ctx.err.write(`ptel import: ${err.message}\n`);
        return 2;
      }
      const report = (result: ImportResult): number => {
        const lines = importLines(result);
        if (lines.out.length > 0) ctx.out.write(`${lines.out.join('\n')}\n`);
        if (lines.err.length > 0) ctx.err.write(`${lines.err.join('\n')}\n`);
        return result.heldBack || result.published === 0 ? 1 : 0;
      };
      const none = nothingToPublish(read, { skipBad });
      if (none !== undefined) return report(none);
      return withRuntime(
        ctx.config,
        async (rt) => report(await importAndStore(rt, read, { skipBad })),
        ctx.clock !== undefined ? { clock: ctx.clock } : {},
      );
    },
  },
};
