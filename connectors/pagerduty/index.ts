import type { Check, Connector } from '../core/types.js';
import { createPagerdutyClient, type PagerdutyClient } from './client.js';
import { configuredServices, pagerdutyStreams } from './streams.js';

export { pagerdutyWebhook } from './webhook.js';
export type { PagerdutyClient } from './client.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const pagerdutyConnector: Connector<PagerdutyClient> = {
  source: 'pagerduty',
  missing(config) {
    const s = config.sources.pagerduty;
    if (s === undefined) return 'add sources.pagerduty to the config file; see ptel.example.yaml';
    if (!s.enabled) return 'sources.pagerduty.enabled is false';
    return config.secrets.pagerdutyToken === undefined ? 'set PTEL_PAGERDUTY_TOKEN in the environment' : undefined;
  },
  client: (config, logger, clock) => createPagerdutyClient(config, logger, clock !== undefined ? { clock } : {}),
  streams: pagerdutyStreams,
  /**
   * The token, then each service. /users/me needs a user token, so the token is checked with
   * /abilities, which any REST API key (account or user) may read.
   */
  async doctor(client, config) {
    const checks: Check[] = [];
    try {
      await client.get('/abilities', {});
      checks.push({ name: 'pagerduty token', ok: true, detail: `PTEL_PAGERDUTY_TOKEN is accepted by ${client.baseUrl}` });
    } catch (err) {
      checks.push({ name: 'pagerduty token', ok: false, detail: message(err) });
      return checks;
    }
    const services = configuredServices(config);
    if (services.length === 0) {
      checks.push({
        name: 'pagerduty services',
        ok: false,
        detail: 'no services to pull: list them in sources.pagerduty.services or in the teams of the org mapping (pagerduty.services)',
      });
    }
    for (const id of services) {
      try {
        await client.get(`/services/${encodeURIComponent(id)}`, {});
        checks.push({ name: `pagerduty service ${id}`, ok: true, detail: 'visible to the token' });
      } catch (err) {
        checks.push({
          name: `pagerduty service ${id}`,
          ok: false,
          detail: `${message(err)}; check the service id and the token's team access`,
        });
      }
    }
    return checks;
  },
};
