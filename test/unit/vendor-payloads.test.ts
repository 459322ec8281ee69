import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { BusMessage, OutgoingMessage } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { WEBHOOK_SOURCES } from '../../connectors/registry.js';
import { mapContext } from '../../mapping/registry.js';
import { decodeMessage } from '../../workers/normalize/normalizer.js';
import { startWebhookServer, type WebhookServer } from '../support/bus.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { structuredCloudEvent } from '../support/cdevents.js';

/**
 * Every real vendor payload the repository holds, delivered to the real webhook endpoints and then
 * normalized: each one is either refused at the door (400, with a reason) or accepted and mapped (ok,
 * or a deliberate drop with a reason). None may be accepted (202) and then dead-lettered.
 */

const SECRET = 'vendor-payloads-secret';
const SITE = 'acme.atlassian.net';
const require = createRequire(import.meta.url);

interface Delivery {
  vendor: string;
  name: string;
  body: Buffer;
  headers: Record<string, string>;
}

const hmac = (body: Buffer): string => createHmac('sha256', SECRET).update(body).digest('hex');

const signed: Record<string, (body: Buffer) => Record<string, string>> = {
  github: (body) => ({ 'x-hub-signature-256': `sha256=${hmac(body)}` }),
  jira: (body) => ({ 'x-hub-signature': `sha256=${hmac(body)}` }),
  pagerduty: (body) => ({ 'x-pagerduty-signature': `v1=${hmac(body)}` }),
  gitlab: () => ({ 'x-gitlab-token': SECRET }),
  cdevents: () => ({ authorization: `Bearer ${SECRET}`, 'content-type': 'application/cloudevents+json' }),
};

/** The JSON files of the folders, each name once. */
function jsonFiles(vendor: string, ...dirs: string[]): Delivery[] {
  const seen = new Set<string>();
  const out: Delivery[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const body = readFileSync(path.join(dir, name));
      out.push({ vendor, name, body, headers: signed[vendor]!(body) });
    }
  }
  return out;
}

function cdeventDeliveries(): Delivery[] {
  return jsonFiles('cdevents', path.join(repoRoot, 'test/fixtures/cdevents/examples')).map((d) => {
    const event = JSON.parse(d.body.toString('utf8')) as { context: { id: string; source: string; type: string; timestamp: string } };
    // The spec's example as a structured-mode CloudEvent.
    const body = Buffer.from(structuredCloudEvent(event));
    return { ...d, body, headers: signed['cdevents']!(body) };
  });
}

/** The event types GitHub deliveries are mapped from (connectors/github/webhook.ts). */
const GITHUB_EVENTS = [
  'pull_request',
  'pull_request_review',
  'push',
  'deployment',
  'deployment_status',
  'release',
  'workflow_run',
  'workflow_job',
  'repository',
];

function githubDeliveries(): Delivery[] {
  const index = require('@octokit/webhooks-examples') as Array<{ name: string; examples: unknown[] }>;
  return index
    .filter((e) => GITHUB_EVENTS.includes(e.name))
    .flatMap((e) =>
      e.examples.map((example, i) => {
        const body = Buffer.from(JSON.stringify(example));
        const action = (example as { action?: string }).action;
        return {
          vendor: 'github',
          name: `${e.name}${action === undefined ? '' : `.${action}`} #${i}`,
          body,
          headers: { 'x-github-event': e.name, ...signed['github']!(body) },
        };
      }),
    );
}

function allDeliveries(): Delivery[] {
  return [
    ...jsonFiles('jira', path.join(repoRoot, 'test/fixtures/jira')),
    ...jsonFiles('pagerduty', path.join(repoRoot, 'test/fixtures/pagerduty')),
    ...jsonFiles('gitlab', path.join(repoRoot, 'test/fixtures/gitlab')),
    ...cdeventDeliveries(),
    ...githubDeliveries(),
  ];
}

interface Verdict {
  delivery: string;
  status: number;
  error?: string;
  outcomes: Array<{ type: string; kind: string; reason: string; notes: string[] }>;
}

describe('every vendor payload the repository holds', () => {
  let server: WebhookServer;
  let config: Config;
  const verdicts: Verdict[] = [];
  const deliveries = allDeliveries();

  beforeAll(async () => {
    config = loadConfig({
      env: {
        PTEL_GITHUB_WEBHOOK_SECRET: SECRET,
        PTEL_JIRA_WEBHOOK_SECRET: SECRET,
        PTEL_JIRA_API_TOKEN: 't',
        PTEL_PAGERDUTY_WEBHOOK_SECRETS: SECRET,
        PTEL_GITLAB_WEBHOOK_TOKEN: SECRET,
        PTEL_CDEVENTS_WEBHOOK_TOKEN: SECRET,
      },
      overrides: {
        'sources.jira': {
          baseUrl: `https://${SITE}`,
          email: 'bot@acme.example',
          // Custom fields as an older site numbers them: story points arrive as text there.
          fields: { storyPoints: 'customfield_10006', foundIn: 'environment', severity: 'customfield_10021' },
        },
        'sources.cdevents': {},
      },
      cwd: tempDir(),
    });
    server = await startWebhookServer(WEBHOOK_SOURCES, config);
    const published: BusMessage[] = [];
    const publish = server.bus.publish.bind(server.bus);
    server.bus.publish = async (topic: string, messages: OutgoingMessage[]) => {
      await publish(topic, messages);
      for (const m of messages)
        published.push({
          topic,
          partition: 0,
          offset: String(published.length),
          key: m.key === null ? null : Buffer.from(m.key),
          value: Buffer.from(m.value),
          headers: m.headers ?? {},
          timestamp: 0,
        });
    };
    const registry = createMapperRegistry();
    const context = mapContext(config);
    for (const d of deliveries) {
      const before = published.length;
      const res = await fetch(`${server.url}/webhooks/${d.vendor}`, {
        method: 'POST',
        body: d.body,
        headers: { 'content-type': 'application/json', ...d.headers },
      });
      const answer = (await res.json()) as { error?: string };
      const messages = published.slice(before);
      const outcomes = messages.map((m) => {
        // The normalizer's own path: decode the bus message, then the registry (requirement, mapper).
        const decoded = decodeMessage(m);
        if (!decoded.ok) return { type: '', kind: 'dead_letter', reason: decoded.reason, notes: [] };
        const outcome = registry.apply(decoded.event, context);
        return {
          type: decoded.event.type,
          kind: outcome.kind,
          reason: outcome.kind === 'ok' ? '' : outcome.reason,
          notes: outcome.kind === 'ok' ? outcome.notes.map((n) => `${n.entity}.${n.field}`) : [],
        };
      });
      verdicts.push({
        delivery: `${d.vendor}/${d.name}`,
        status: res.status,
        ...(answer.error !== undefined ? { error: answer.error } : {}),
        outcomes,
      });
    }
  }, 120_000);
  afterAll(() => server.close());

  it('holds payloads of every vendor', () => {
    const vendors = new Set(deliveries.map((d) => d.vendor));
    expect([...vendors].sort()).toEqual(['cdevents', 'github', 'gitlab', 'jira', 'pagerduty']);
  });

  it('never accepts a delivery whose event is then dead-lettered', () => {
    const lost = verdicts.filter((v) => v.status === 202 && v.outcomes.some((o) => o.kind === 'dead_letter'));
    expect(lost).toEqual([]);
  });

  it('answers 202 or 400; a refusal says why, and only the garbled body is refused', () => {
    for (const v of verdicts) expect([202, 400], v.delivery).toContain(v.status);
    const refused = verdicts.filter((v) => v.status === 400);
    expect(refused.map((v) => [v.delivery, v.error])).toEqual([
      ['jira/comment_created_no_issue_details.json', expect.stringContaining('the body is not JSON') as unknown],
    ]);
  });

  it('drops deliberately, with a reason, what the model does not use: CDEvents of unused types among them', () => {
    const drops = verdicts.flatMap((v) => v.outcomes.filter((o) => o.kind === 'drop').map((o) => ({ ...o, delivery: v.delivery })));
    for (const d of drops) expect(d.reason, d.delivery).not.toBe('');
    const cdevents = verdicts.filter((v) => v.delivery.startsWith('cdevents/'));
    expect(cdevents).toHaveLength(48);
    expect(cdevents.filter((v) => v.status !== 202)).toEqual([]);
    const approval = verdicts.find((v) => v.delivery === 'cdevents/approval_closed.json')!;
    expect(approval.outcomes).toEqual([
      { type: 'cdevents.event', kind: 'drop', reason: expect.stringContaining('dev.cdevents.approval.closed') as unknown, notes: [] },
    ]);
  });

  it('maps the deliveries that used to be lost, noting the fields that could not be read', () => {
    const of = (name: string) => verdicts.find((v) => v.delivery === name)!.outcomes;
    // PagerDuty v3 without created_at, Jira Server without status categories, a component without a
    // name, story points in text, a GitLab merge request 'reopened'.
    expect(of('pagerduty/resolved_v3.json')).toEqual([
      { type: 'pagerduty.incident', kind: 'ok', reason: '', notes: ['incident.created_at'] },
    ]);
    expect(of('jira/created_v1.json')).toMatchObject([{ kind: 'ok', notes: ['issue.fields.status.statusCategory.key'] }]);
    expect(of('gitlab/merge_request_reopened.json')).toMatchObject([{ kind: 'ok', notes: [] }]);
    expect(of('jira/issue_created_with_additional_fields.json')).toMatchObject([
      { kind: 'ok', notes: expect.arrayContaining(['issue.fields.components[].name']) as unknown },
    ]);
    const mapped = verdicts.flatMap((v) => v.outcomes).filter((o) => o.kind === 'ok');
    expect(mapped.length).toBeGreaterThan(200);
  });
});
