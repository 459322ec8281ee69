import type { SourceMappers } from '../../workers/normalize/registry.js';

export const githubMappers: SourceMappers = { source: 'github', mappers: {} };
