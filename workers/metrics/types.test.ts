import { describe, expect, it } from 'vitest';
import { parseScope } from './types.js';

describe('scope options', () => {
  it('reads KIND and KIND:ID, keeps colons inside the id, and says what is wrong otherwise', () => {
    expect(parseScope('org')).toEqual({ kind: 'org' });
    expect(parseScope('team:checkout')).toEqual({ kind: 'team', id: 'checkout' });
    expect(parseScope('repo:gitlab:acme/api')).toEqual({ kind: 'repo', id: 'gitlab:acme/api' });
    expect(parseScope('tem:checkout')).toBe(
      "--scope 'tem:checkout': expected KIND or KIND:ID with KIND one of org, program, team, service, repo, for example team:checkout",
    );
    expect(parseScope('team:')).toMatch(/^--scope 'team:': expected KIND or KIND:ID/);
  });
});
