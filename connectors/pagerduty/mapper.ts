import type { SourceMappers } from '../../workers/normalize/registry.js';

export const pagerdutyMappers: SourceMappers = { source: 'pagerduty', mappers: {} };
