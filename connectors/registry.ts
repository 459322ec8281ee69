import { cdeventsWebhook } from './cdevents/index.js';
import type { Connector, WebhookSource } from './core/types.js';
import { githubConnector, githubWebhook } from './github/index.js';
import { gitlabConnector, gitlabWebhook } from './gitlab/index.js';
import { jenkinsConnector, jenkinsWebhook } from './jenkins/index.js';
import { jiraConnector, jiraWebhook } from './jira/index.js';
import { outcomesConnector } from './outcomes/index.js';
import { pagerdutyConnector, pagerdutyWebhook } from './pagerduty/index.js';

/** Every source that pulls, in one list: sync, doctor and the schedules all read it. */
export const CONNECTORS: Connector[] = [
  githubConnector,
  jiraConnector,
  pagerdutyConnector,
  gitlabConnector,
  jenkinsConnector,
  outcomesConnector,
];

/** Every webhook endpoint (POST /webhooks/<path>). */
export const WEBHOOK_SOURCES: WebhookSource[] = [
  githubWebhook,
  jiraWebhook,
  pagerdutyWebhook,
  gitlabWebhook,
  jenkinsWebhook,
  cdeventsWebhook,
];
