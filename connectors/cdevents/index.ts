import type { WebhookSource } from '../core/types.js';
import { cdeventsWebhook as webhook } from './webhook.js';

/** CDEvents are only received (no pull): any CI/CD tool that emits them can post to /webhooks/cdevents. */
export const cdeventsWebhook: WebhookSource = webhook;
