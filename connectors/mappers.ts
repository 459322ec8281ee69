import { cdeventsMappers } from './cdevents/mapper.js';
import { githubMappers } from './github/mapper.js';
import { gitlabMappers } from './gitlab/mapper.js';
import { ingestMappers } from './ingest/mapper.js';
import { jenkinsMappers } from './jenkins/mapper.js';
import { jiraMappers } from './jira/mapper.js';
import { pagerdutyMappers } from './pagerduty/mapper.js';
import { MapperRegistry, type SourceMappers } from '../mapping/registry.js';

/** Every source's mappers: each connector folder keeps its own beside its streams and webhook. */
export const SOURCE_MAPPERS: SourceMappers[] = [
  githubMappers,
  jiraMappers,
  pagerdutyMappers,
  gitlabMappers,
  jenkinsMappers,
  cdeventsMappers,
  ingestMappers,
];

/**
 * The mappers of every source, registered in one place. Event types without a mapper are still kept
 * in raw_events (and counted as ok), so adding a mapper later and running `ptel replay` fills the
 * domain tables from history.
 */
export function createMapperRegistry(): MapperRegistry {
  const registry = new MapperRegistry();
  for (const { source, mappers, required } of SOURCE_MAPPERS)
    for (const [type, mapper] of Object.entries(mappers)) registry.register(source, type, mapper, required?.[type]);
  return registry;
}
