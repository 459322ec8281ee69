import type { SourceMappers } from '../../workers/normalize/registry.js';

export const jenkinsMappers: SourceMappers = { source: 'jenkins', mappers: {} };
