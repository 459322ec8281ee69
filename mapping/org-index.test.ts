import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../infra/config/load.js';
import { tempDir } from '../test/support/harness.js';
import { generateDemoOrg } from '../connectors/demo/generator.js';
import { OrgIndex } from './org-index.js';

const org = {
  programs: [
    {
      id: 'payments',
      name: 'Payments',
      teams: [
        {
          id: 'checkout',
          name: 'Checkout',
          repositories: ['Acme/Checkout-API'],
          jira: { projects: ['CHK'], components: ['Cart'] },
          pagerduty: { services: ['PCHK001'] },
          ci: { pipelines: ['github:acme/checkout-api:deploy.yml'] },
          services: ['checkout-api'],
        },
        { id: 'ledger', name: 'Ledger', jira: { projects: ['LED'], components: [] } },
      ],
    },
  ],
};

describe('org index', () => {
  const index = new OrgIndex(loadConfig({ env: {}, cwd: tempDir(), overrides: { org } }).org);

  it('finds the team and program of whatever a payload names, ignoring case', () => {
    const checkout = { team: 'checkout', program: 'payments' };
    expect(index.owner('repository', 'acme/checkout-api')).toEqual(checkout);
    expect(index.owner('jiraProject', 'chk')).toEqual(checkout);
    expect(index.owner('pagerdutyService', 'PCHK001')).toEqual(checkout);
    expect(index.owner('ciPipeline', 'github:acme/checkout-api:deploy.yml')).toEqual(checkout);
    expect(index.owner('service', 'Checkout-API')).toEqual(checkout);
    expect(index.owner('repository', 'acme/unknown')).toBeUndefined();
    expect(index.owner('repository', undefined)).toBeUndefined();
  });

  it('takes the first candidate the mapping knows: a component before its project', () => {
    expect(
      index.firstOwner([
        ['jiraComponent', 'cart'],
        ['jiraProject', 'LED'],
      ]),
    ).toEqual({ team: 'checkout', program: 'payments' });
    expect(
      index.firstOwner([
        ['jiraComponent', 'other'],
        ['jiraProject', 'LED'],
      ]),
    ).toEqual({ team: 'ledger', program: 'payments' });
  });

  it('covers every repository, project and service of the demo organisation', () => {
    const demo = generateDemoOrg().org;
    const i = new OrgIndex(demo);
    for (const p of demo.programs)
      for (const t of p.teams) for (const r of t.repositories) expect(i.owner('repository', r)).toEqual({ team: t.id, program: p.id });
  });

  it('refuses a repository listed under two teams, naming both places', () => {
    const twice = structuredClone(org);
    twice.programs[0]!.teams[1]!.repositories = ['acme/checkout-api'];
    let message = '';
    try {
      loadConfig({ env: {}, cwd: tempDir(), overrides: { org: twice } });
    } catch (err) {
      if (err instanceof ConfigError) message = err.message;
    }
    expect(message).toContain("key 'org.programs[0].teams[1].repositories[0]'");
    expect(message).toContain("'acme/checkout-api' is already listed at programs[0].teams[0].repositories");
  });
});
