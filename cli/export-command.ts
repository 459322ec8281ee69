import { parseScope } from '../workers/metrics/types.js';
import { EXPORT_FILES, ExportError, exportRoot, runExport } from '../workers/export/export.js';
import type { ScopeFilter } from '../workers/export/kpis.js';
import { lastCompleteMonth, parseMonth } from '../workers/export/month.js';
import { today } from '../workers/metrics/job.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant } from './output.js';

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
      'usage: ptel export [--month YYYY-MM] [--as-of INSTANT] [--out DIR] [--scope KIND[:ID] ...]',
      '  --month  the month to export (default: the last complete month in metrics.timeZone, at --as-of when given)',
      '  --as-of  export the month as the store held it at this instant (ISO 8601, e.g. 2026-11-03T10:00:00Z):',
      '           the values, risks, incidents and stalls recorded by then, nothing computed later',
      '  --out    the folder that holds the month folders (default: export.dir, else <dataDir>/exports)',
      '  --scope  only these scopes (repeatable): KIND or KIND:ID, KIND one of org, program, team, service, repo',
      `Writes ${EXPORT_FILES.join(', ')} into <out>/<YYYY-MM>/, replacing an earlier export of the month at once.`,
      'The numbers are the stored monthly values; see docs/export.md for the columns and the report.',
    ].join('\n'),
    options: { month: { type: 'string' }, 'as-of': { type: 'string' }, out: { type: 'string' }, scope: { type: 'string', multiple: true } },
    async run(ctx) {
      const tz = ctx.config.metrics.timeZone;
      const text = ctx.values['month'];
      const asked = typeof text === 'string' ? parseMonth(text) : undefined;
      if (typeof text === 'string' && asked === undefined)
        return usageError(ctx, `--month '${text}': expected a month YYYY-MM, for example 2026-09`);
      const asOf = parseInstant(ctx, 'as-of', 'ptel export');
      if (asOf === null) return 2;
      const scopes = scopeFilters(ctx.values['scope']);
      if (typeof scopes === 'string') return usageError(ctx, scopes);
      const out = typeof ctx.values['out'] === 'string' ? ctx.values['out'] : exportRoot(ctx.config);
      return withStore(ctx.config, async (rt) => {
        const now = rt.clock.date();
        if (asOf !== undefined && asOf.getTime() > now.getTime())
          return usageError(
            ctx,
            `--as-of '${String(ctx.values['as-of'])}' is later than now (${now.toISOString()}); give an instant that has passed`,
          );
        const at = asOf ?? now;
        const month = asked ?? lastCompleteMonth(tz, at);
        const config = { ...ctx.config, org: rt.organisation.org };
        try {
          const r = await runExport({
            store: rt.store,
            config,
            month,
            out,
            scopes,
            clock: rt.clock,
            ...(asOf !== undefined ? { asOf } : {}),
          });
          const as = asOf === undefined ? '' : ` as of ${asOf.toISOString()}`;
          ctx.out.write(`exported ${r.month}${as}: ${r.rows} values of ${r.scopes} scopes to ${r.dir} (${EXPORT_FILES.join(', ')})\n`);
          if (month >= today(tz, at).slice(0, 7))
            ctx.err.write(
              asOf === undefined
                ? `note: ${month} has not ended yet; its numbers are still moving\n`
                : `note: ${month} had not ended at ${asOf.toISOString()}; its numbers were still moving then\n`,
            );
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
