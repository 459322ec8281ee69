import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './harness.js';

/** A CDEvents spec example (test/fixtures/cdevents/examples/<name>.json) as the spec publishes it. */
export function cdeventExample(name: string): { context: { id: string; source: string; type: string; timestamp: string } } {
  return JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/cdevents/examples', `${name}.json`), 'utf8')) as {
    context: { id: string; source: string; type: string; timestamp: string };
  };
}

/** A CDEvent wrapped as a structured-mode CloudEvent, the body a CDEvents webhook delivery carries. */
export function structuredCloudEvent(cdevent: ReturnType<typeof cdeventExample>): string {
  return JSON.stringify({
    specversion: '1.0',
    id: cdevent.context.id,
    source: cdevent.context.source,
    type: cdevent.context.type,
    time: cdevent.context.timestamp,
    datacontenttype: 'application/json',
    data: cdevent,
  });
}
