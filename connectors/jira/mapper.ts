import type { SourceMappers } from '../../workers/normalize/registry.js';

export const jiraMappers: SourceMappers = { source: 'jira', mappers: {} };
