import type { SourceMappers } from '../../workers/normalize/registry.js';

export const cdeventsMappers: SourceMappers = { source: 'cdevents', mappers: {} };
