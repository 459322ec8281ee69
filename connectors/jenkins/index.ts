import type { Check, Connector } from '../core/types.js';
import { configuredJobs, jenkinsStreams } from './builds.js';
import { createJenkinsClient, jobUrlPath, type JenkinsClient } from './client.js';

export { jenkinsWebhook } from './webhook.js';
export type { JenkinsClient } from './client.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const jenkinsConnector: Connector<JenkinsClient> = {
  source: 'jenkins',
  missing(config) {
    const s = config.sources.jenkins;
    if (s === undefined) return 'add sources.jenkins to the config file; see ptel.example.yaml';
    if (!s.enabled) return 'sources.jenkins.enabled is false';
    return config.secrets.jenkinsApiToken === undefined ? 'set PTEL_JENKINS_API_TOKEN in the environment' : undefined;
  },
  client: (config, logger, clock) => createJenkinsClient(config, logger, clock !== undefined ? { clock } : {}),
  streams: jenkinsStreams,
  /** The credentials (the root's API), then each configured job. */
  async doctor(client, config) {
    const checks: Check[] = [];
    try {
      await client.get('/api/json?tree=mode');
      checks.push({
        name: 'jenkins credentials',
        ok: true,
        detail: `${client.baseUrl} accepts sources.jenkins.user and PTEL_JENKINS_API_TOKEN`,
      });
    } catch (err) {
      checks.push({ name: 'jenkins credentials', ok: false, detail: message(err) });
      return checks;
    }
    const jobs = configuredJobs(config);
    if (jobs.length === 0)
      checks.push({ name: 'jenkins jobs', ok: false, detail: "no jobs to pull: list them in sources.jenkins.jobs ('folder/job')" });
    for (const job of jobs) {
      try {
        await client.get(`${jobUrlPath(job)}/api/json?tree=name`);
        checks.push({ name: `jenkins job ${job}`, ok: true, detail: 'visible' });
      } catch (err) {
        checks.push({ name: `jenkins job ${job}`, ok: false, detail: `${message(err)}; check the job path (folders joined by '/')` });
      }
    }
    return checks;
  },
};
