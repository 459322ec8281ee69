import type { SourceMappers } from '../../workers/normalize/registry.js';

export const gitlabMappers: SourceMappers = { source: 'gitlab', mappers: {} };
