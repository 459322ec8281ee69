import type { Config } from '../../infra/config/schema.js';
import type { Check, Connector } from '../core/types.js';
import { createOutcomesClient, type OutcomesClient } from './client.js';
import { outcomesStreams, queriedOutcomes, type Engine } from './streams.js';

export type { OutcomesClient } from './client.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const ENGINES: Engine[] = ['prometheus', 'clickhouse'];

/**
 * Outcome targets and planned adopters from the configuration, and outcome actuals pulled from a query
 * endpoint (Prometheus-compatible or ClickHouse): docs/outcomes.md. Its events are the intake's, source
 * 'ingest'; 'outcomes' names the pull (sources.outcomes, its cursors and schedule).
 */
export const outcomesConnector: Connector<OutcomesClient> = {
  source: 'outcomes',
  missing(config) {
    const s = config.sources.outcomes;
    if (s === undefined) return 'add sources.outcomes to the config file; see ptel.example.yaml';
    if (!s.enabled) return 'sources.outcomes.enabled is false';
    for (const engine of ENGINES) {
      const [first] = queriedOutcomes(config, engine);
      if (first !== undefined && s[engine] === undefined)
        return `set sources.outcomes.${engine}.url: outcome ${first.scope} is queried there (org.programs[].outcomes[].actual.${engine})`;
    }
    return undefined;
  },
  client: (config, logger, clock) => createOutcomesClient(config, logger, clock !== undefined ? { clock } : {}),
  streams: outcomesStreams,
  /** Each endpoint answers (Prometheus: `vector(1)`; ClickHouse: `SELECT 1 AS value`), then each outcome's query runs now. */
  async doctor(client, config: Config) {
    const checks: Check[] = [];
    const now = client.clock.date();
    for (const engine of ENGINES) {
      const endpoint = client[engine];
      const outcomes = queriedOutcomes(config, engine);
      if (endpoint === undefined) continue;
      try {
        await endpoint.value(engine === 'prometheus' ? 'vector(1)' : 'SELECT 1 AS value', now, `${engine} endpoint`);
        const auth =
          engine === 'prometheus'
            ? 'PTEL_OUTCOMES_PROMETHEUS_TOKEN'
            : 'sources.outcomes.clickhouse.user and PTEL_OUTCOMES_CLICKHOUSE_PASSWORD';
        checks.push({ name: `outcomes ${engine}`, ok: true, detail: `${endpoint.name} answers with ${auth}` });
      } catch (err) {
        checks.push({ name: `outcomes ${engine}`, ok: false, detail: message(err) });
        continue;
      }
      for (const o of outcomes) {
        try {
          const value = await endpoint.value(o.query, now, `outcome ${o.scope}`);
          checks.push({
            name: `outcome ${o.scope}`,
            ok: true,
            detail:
              value === undefined ? `the query runs; no value at ${now.toISOString()}` : `the query runs: ${value} at ${now.toISOString()}`,
          });
        } catch (err) {
          checks.push({ name: `outcome ${o.scope}`, ok: false, detail: message(err) });
        }
      }
    }
    if (checks.length === 0)
      checks.push({
        name: 'outcomes',
        ok: true,
        detail: 'no query endpoint configured: targets and adopters are published from the configuration',
      });
    return checks;
  },
};
