import { CONNECTORS } from '../connectors/registry.js';
import { isConfigured, type Connector } from '../connectors/core/types.js';
import { demoJiraFields } from '../connectors/demo/generator.js';
import { loadDemo, loadDemoOrgConfig } from '../connectors/demo/source.js';
import type { SourceRecord } from '../schemas/raw-event.js';
import type { Clock } from '../infra/clock.js';
import type { Config, OrgConfig } from '../infra/config/schema.js';
import type { Store } from '../infra/store/client.js';
import { mapContext, type MapContext } from '../mapping/context.js';

/**
 * The organisation this process works for, resolved once: the configured one, or, when neither a
 * source nor an org mapping is configured, the seeded demo organisation (whose org mapping and Jira
 * fields then apply everywhere: mapping, replays, metrics scopes, exports). The demo's org mapping
 * comes from its settings alone; only its history needs the deployment's anchor, from the store.
 */
export interface Organisation {
  readonly kind: 'configured' | 'demo';
  /** The connectors whose configuration and credentials are complete. */
  readonly connectors: Connector[];
  /** The org mapping the metrics, alerts and exports are scoped by. */
  readonly org: OrgConfig;
  /** What the mappers need: the org mapping, the model settings, people and Jira fields. */
  mapContext(): MapContext;
  /**
   * The demo's whole history as entity versions, at the anchor the store holds for the deployment
   * (demo only; decided and generated on first call).
   */
  demoRecords(store: Store): Promise<DemoHistory | undefined>;
}

export interface DemoHistory {
  records: SourceRecord[];
  programs: number;
  teams: number;
  /** The demo's own "now", fixed for the deployment by its anchor. */
  now: string;
}

export function configuredConnectors(config: Config): Connector[] {
  return CONNECTORS.filter((c) => isConfigured(c, config));
}

export function resolveOrganisation(config: Config, clock: Clock): Organisation {
  const connectors = configuredConnectors(config);
  if (connectors.length > 0 || config.org.programs.length > 0) {
    let context: MapContext | undefined;
    return {
      kind: 'configured',
      connectors,
      org: config.org,
      mapContext: () => (context ??= mapContext(config)),
      demoRecords: () => Promise.resolve(undefined),
    };
  }
  const org = loadDemoOrgConfig(config);
  let demo: Promise<DemoHistory> | undefined;
  let context: MapContext | undefined;
  return {
    kind: 'demo',
    connectors,
    org,
    mapContext: () => (context ??= mapContext({ org, model: config.model, people: config.people, jiraFields: demoJiraFields() })),
    demoRecords: (store) =>
      (demo ??= loadDemo(store, config, clock).then(
        (d) => ({ records: d.records, programs: d.org.programs.length, teams: d.teams, now: d.now }),
        (err: unknown) => {
          demo = undefined; // not kept: a later call asks the store again
          throw err;
        },
      )),
  };
}
