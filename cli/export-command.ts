import { parseScope } from '../workers/metrics/types.js';
import { EXPORT_FILES, ExportError, exportRoot, runExport } from '../workers/export/export.js';
import type { ScopeFilter } from '../workers/export/kpis.js';
import { lastCompleteMonth, parseMonth } from '../workers/export/month.js';
import { today } from '../workers/metrics/job.js';
import { withStore, type Command, type CommandContext } from './command.js';

function usageError(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel export: ${message}\n`);
  return 2;
}

/** The --scope options (repeatable) as filters, or what is wrong with the first one that is not KIND or KIND:ID. */
function scopeFilters(raw: unknown): ScopeFilter[] | string {
  const texts = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : typeof raw === 'string' ? [raw] : [];
  const out: ScopeFilter[] = [];
  for (const text of texts) {
    const scope = parseScope(text);
    if (typeof scope === 'string') return scope;
    out.push(scope);
  }
  return out;
}

export const EXPORT_COMMANDS: Record<string, Command> = {
  export: {
    summary: "export a month's KPIs: kpis.csv, kpis.json and a printable report.html",
    usage: [
      'usage: ptel export [--month YYYY-MM] [--out DIR] [--scope KIND[:ID] ...]',
      '  --month  the month to export (default: the last complete month in metrics.timeZone)',
      '  --out    the folder that holds the month folders (default: export.dir, else <dataDir>/exports)',
      '  --scope  only these scopes (repeatable): KIND or KIND:ID, KIND one of org, program, team, service, repo',
      `Writes ${EXPORT_FILES.join(', ')} into <out>/<YYYY-MM>/, replacing an earlier export of the month at once.`,
      'The numbers are the stored monthly values; see docs/export.md for the columns and the report.',
    ].join('\n'),
    options: { month: { type: 'string' }, out: { type: 'string' }, scope: { type: 'string', multiple: true } },
    async run(ctx) {
      const tz = ctx.config.metrics.timeZone;
      const text = ctx.values['month'];
      const month = typeof text === 'string' ? parseMonth(text) : lastCompleteMonth(tz, new Date());
      if (month === undefined) return usageError(ctx, `--month '${String(text)}': expected a month YYYY-MM, for example 2026-09`);
      const scopes = scopeFilters(ctx.values['scope']);
      if (typeof scopes === 'string') return usageError(ctx, scopes);
      const out = typeof ctx.values['out'] === 'string' ? ctx.values['out'] : exportRoot(ctx.config);
      return withStore(ctx.config, async (rt) => {
        const config = { ...ctx.config, org: rt.organisation.org };
        try {
          const r = await runExport({ store: rt.store, config, month, out, scopes });
          ctx.out.write(`exported ${r.month}: ${r.rows} values of ${r.scopes} scopes to ${r.dir} (${EXPORT_FILES.join(', ')})\n`);
          if (month >= today(tz, new Date()).slice(0, 7)) ctx.err.write(`note: ${month} has not ended yet; its numbers are still moving\n`);
          return 0;
        } catch (err) {
          if (!(err instanceof ExportError)) throw err;
          ctx.err.write(`ptel export: ${err.message}\n`);
          return 1;
        }
      });
    },
  },
};
