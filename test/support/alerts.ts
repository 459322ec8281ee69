import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Store } from '../../infra/store/client.js';
import { configSchema, type AlertsConfig } from '../../infra/config/schema.js';
import type { WorkItemRow } from '../../schemas/domain.js';
import { insertTables } from './mapping.js';
import { blocksLinkRow, workItemRow } from './rows.js';
import { tempDir } from './harness.js';

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

/**
 * A real local receiver for stall alert deliveries: plain HTTP for the Slack-compatible and generic
 * webhooks (/slack, /hook), and HTTPS with a throwaway self-signed certificate for PagerDuty's Events
 * API (/v2/enqueue), which pdjs only reaches over https. `failing` makes a path answer 503.
 */
export interface AlertReceiver {
  httpUrl: string;
  /** host:port of the HTTPS side, for a pagerduty channel's `server`. */
  httpsServer: string;
  /** The certificate to trust (alerts.caFile). */
  caFile: string;
  received: Received[];
  failing: Set<string>;
  /** Milliseconds every answer waits (a slow receiver). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const dir = tempDir('ptel-alert-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]),
    { stdio: 'ignore' },
  );
  const received: Received[] = [];
  const failing = new Set<string>();
  const receiver = { received, failing, delayMs: 0 } as AlertReceiver;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => setTimeout(answer, receiver.delayMs));
    const answer = (): void => {
      const body = Buffer.concat(chunks).toString('utf8');
      const p = req.url ?? '';
      if (failing.has(p)) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
        return;
      }
      received.push({ path: p, headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      if (p === '/v2/enqueue') {
        const dedupKey = (JSON.parse(body) as { dedup_key?: string }).dedup_key;
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedupKey }));
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
    };
  };
  const http = createHttpServer(handle);
  const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, handle);
  const listen = (s: Server): Promise<number> =>
    new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
  const [httpPort, httpsPort] = [await listen(http), await listen(https)];
  Object.assign(receiver, {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpsServer: `127.0.0.1:${httpsPort}`,
    caFile: cert,
    close: async () => {
      for (const s of [http, https]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  });
  return receiver;
}

/** The environment the test channels read their secrets from. */
export const ALERT_ENV = { TEST_SLACK_URL: '', TEST_HOOK_SECRET: 'hook-secret-1', TEST_PD_KEY: 'R0UTINGKEY0123456789ABCDEFGHIJKL' };

/**
 * Channels and routes of the scenario: the checkout team's stalls (as the blocked team) go to its
 * Slack channel; cross-team stalls also page through PagerDuty; anything else goes to the signed
 * audit webhook.
 */
export function scenarioAlertsConfig(
  r: AlertReceiver,
  over: Record<string, unknown> = {},
): { alerts: AlertsConfig; env: NodeJS.ProcessEnv } {
  const config = configSchema.parse({
    alerts: {
      stalls: { renotifyHours: 24 },
      channels: {
        'checkout-slack': { type: 'slack', urlEnv: 'TEST_SLACK_URL' },
        audit: { type: 'webhook', url: `${r.httpUrl}/hook`, secretEnv: 'TEST_HOOK_SECRET' },
        pager: { type: 'pagerduty', routingKeyEnv: 'TEST_PD_KEY', server: r.httpsServer },
      },
      routes: [
        { teams: ['checkout'], side: 'blocked', channels: ['checkout-slack'] },
        { crossTeamOnly: true, channels: ['pager'] },
      ],
      defaultChannels: ['audit'],
      caFile: r.caFile,
      grafanaUrl: 'https://grafana.example.com/',
      ...over,
    },
  });
  return { alerts: config.alerts, env: { ...ALERT_ENV, TEST_SLACK_URL: `${r.httpUrl}/slack` } };
}

const TEAM_PROGRAM: Record<string, string> = { search: 'discovery', checkout: 'payments' };

export function item(key: string, team: string, extra: Partial<WorkItemRow> = {}): WorkItemRow {
  return workItemRow({
    item_id: `id-${key}`,
    key,
    project: key.split('-')[0]!,
    type: 'Task',
    kind: 'task',
    status: 'In Progress',
    status_category: 'in_progress',
    priority: 'Medium',
    priority_rank: 3,
    created_at: '2026-03-02T09:00:00.000Z',
    updated_at: '2026-03-02T09:00:00.000Z',
    summary: key,
    team,
    program: TEAM_PROGRAM[team] ?? '',
    url: `https://acme.atlassian.net/browse/${key}`,
    raw_event_id: 'e',
    version: 1,
    ...extra,
  });
}

/**
 * Four blocking links, as of Friday 2026-03-20 (the blockers idle since Monday 03-02: 13 business days):
 *   SRCH-1 (search) blocks CHK-1 (checkout)   stalled, cross-team: checkout-slack and pager
 *   CHK-2 (checkout) blocks CHK-3 (checkout)  stalled, same team: checkout-slack
 *   SRCH-2 (search) blocks SRCH-3 (search)    stalled, same team: no route matches, so audit
 *   SRCH-4 (search) blocks CHK-4 (checkout)   not stalled: the blocker moved on 03-19
 */
export async function seedStallScenario(store: Store): Promise<void> {
  await insertTables(store, {
    work_items: [
      item('SRCH-1', 'search'),
      item('CHK-1', 'checkout'),
      item('CHK-2', 'checkout'),
      item('CHK-3', 'checkout'),
      item('SRCH-2', 'search'),
      item('SRCH-3', 'search'),
      item('SRCH-4', 'search', { updated_at: '2026-03-19T15:00:00.000Z' }),
      item('CHK-4', 'checkout'),
    ],
    work_item_links: [
      blocksLinkRow('SRCH-1', 'CHK-1', '2026-03-02T10:00:00.000Z'),
      blocksLinkRow('CHK-2', 'CHK-3', '2026-03-02T10:00:00.000Z'),
      blocksLinkRow('SRCH-2', 'SRCH-3', '2026-03-02T10:00:00.000Z'),
      blocksLinkRow('SRCH-4', 'CHK-4', '2026-03-02T10:00:00.000Z'),
    ],
  });
}

/** The scenario's first run: Friday 2026-03-20, 09:00 UTC. */
export const SCENARIO_T0 = Date.parse('2026-03-20T09:00:00Z');

/** What the receiver got, as "path kind key" lines: "/slack opened jira:SRCH-1>CHK-1". */
export function deliveryLines(received: Received[]): string[] {
  return received
    .map((r) => {
      if (r.path === '/v2/enqueue') {
        const pd = r.json as { event_action: string; dedup_key: string };
        return `pagerduty ${pd.event_action} ${pd.dedup_key.split('/')[1] ?? ''}`;
      }
      if (r.path === '/hook') {
        const h = r.json as { event: string; alert: { link_key: string } };
        return `hook ${h.event} ${h.alert.link_key}`;
      }
      const text = (r.json as { text: string }).text;
      return `slack ${text.split('\n')[0] ?? ''}`;
    })
    .sort();
}
