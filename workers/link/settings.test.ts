import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../test/support/harness.js';
import { configSchema, defaultMetricsConfig, defaultModel, type ModelConfig } from '../../infra/config/schema.js';
import { classifyBugs } from './bugs.js';
import type { ResolvedDeployment } from './deployments.js';
import { hotfixRule, hotfixRules, linkHotfixes } from './incidents.js';
import type { Bug, Incident, PullRequest } from './inputs.js';
import { findReferences, incidentPatterns } from './references.js';

/** The model settings with some of them changed, as the config file would give them. */
const model = (over: Record<string, unknown>): ModelConfig => configSchema.parse({ model: over }).model;

const PD_ID = 'Q1ABC2DEFG3HIJ';
const withPagerDutyIds = model({
  incidentReferences: [
    { pattern: '/incidents/([A-Z0-9]{6,20})\\b', names: 'id', caseSensitive: true },
    { pattern: '\\b(?:incident\\s*#?\\s*|INC-?)(\\d+)\\b', names: 'number' },
    { pattern: '\\b(Q[0-9A-Z]{13})\\b', names: 'id', caseSensitive: true },
  ],
});

function deployment(id: string, extra: Partial<ResolvedDeployment> = {}): ResolvedDeployment {
  return {
    source: 'github',
    deployment_id: id,
    repo: 'acme/api',
    service: 'api',
    environment: 'production',
    is_production: 1,
    sha: `sha-${id}`,
    ref: 'main',
    description: '',
    is_rollback: 0,
    created_ms: 0,
    team: 'checkout',
    program: 'payments',
    raw_event_id: 'e',
    result: 'success',
    raw_result: 'success',
    started_ms: 0,
    finished_ms: 0,
    previous_deployment_id: '',
    rolled_back_by: '',
    commits: [],
    ...extra,
  };
}

const incident = (id: string, number: string): Incident => ({
  source: 'pagerduty',
  incident_id: id,
  number,
  title: 'Checkout down',
  description: '',
  service: 'api',
  url: '',
  created_ms: 0,
  resolved_ms: 1,
});

const pr = (title: string, branch = 'feature/x'): PullRequest => ({
  source: 'github',
  repo: 'acme/api',
  number: 7,
  title,
  head_branch: branch,
  labels: [],
  merge_commit_sha: '',
});

describe('model settings: hotfix patterns', () => {
  it('by default a title saying hotfix and a hotfix/ branch make a hotfix', () => {
    const rules = hotfixRules(defaultModel());
    expect(hotfixRule(rules, { ref: 'main', description: '' }, [pr('Hotfix: empty cart')])?.rule).toBe('text_pattern');
    expect(hotfixRule(rules, { ref: 'hotfix/cart', description: '' }, [])?.rule).toBe('ref_pattern');
    expect(hotfixRule(rules, { ref: 'main', description: 'Weekly release' }, [pr('Cart totals')])).toBeUndefined();
  });

  it("textPattern '' turns the title rule off and leaves the ref rule; a changed pattern matches its own words", () => {
    const off = hotfixRules(model({ hotfix: { textPattern: '' } }));
    expect(hotfixRule(off, { ref: 'main', description: 'hotfix' }, [pr('Hotfix: empty cart')])).toBeUndefined();
    expect(hotfixRule(off, { ref: 'hotfix/cart', description: '' }, [])?.rule).toBe('ref_pattern');
    const urgent = hotfixRules(model({ hotfix: { textPattern: '\\burgent fix\\b', refPattern: '' } }));
    expect(hotfixRule(urgent, { ref: 'hotfix/cart', description: '' }, [pr('Hotfix: empty cart')])).toBeUndefined();
    expect(hotfixRule(urgent, { ref: 'main', description: '' }, [pr('Urgent fix for the cart')])?.rule).toBe('text_pattern');
  });

  it('the hotfix rule follows the setting in the linker', () => {
    const d = deployment('1', { description: 'hotfix for the cart', previous_deployment_id: '0' });
    expect(linkHotfixes([d], [], [], () => [], defaultModel()).map((h) => h.rule)).toEqual(['text_pattern']);
    expect(linkHotfixes([d], [], [], () => [], model({ hotfix: { textPattern: '' } }))).toEqual([]);
  });
});

describe('model settings: incident references', () => {
  it('by default: an incident URL, "incident #N" and "INC-N", and no PagerDuty id on its own', () => {
    const refs = findReferences(`See https://acme.pagerduty.com/incidents/${PD_ID}, incident #12 and INC-34; also ${PD_ID}`).incidents;
    expect(refs).toEqual([
      { id: PD_ID, text: `/incidents/${PD_ID}` },
      { number: '12', text: 'incident #12' },
      { number: '34', text: 'INC-34' },
    ]);
  });

  it('an added pattern names incidents by their PagerDuty id', () => {
    const rules = incidentPatterns(withPagerDutyIds.incidentReferences);
    expect(findReferences(`Fix checkout (${PD_ID})`, rules).incidents).toEqual([{ id: PD_ID, text: PD_ID }]);
    // case-sensitive: a lower-case word of the same shape is not an id
    expect(findReferences('q1abc2defg3hij', rules).incidents).toEqual([]);
  });

  it('a pull request title naming a PagerDuty id makes an explicit hotfix only with the pattern configured', () => {
    const d = deployment('2', { previous_deployment_id: '1' });
    const incidents = [incident(PD_ID, '88')];
    const prs = (): PullRequest[] => [pr(`Guard the cart (${PD_ID})`)];
    expect(linkHotfixes([d], incidents, [], prs, defaultModel())).toEqual([]);
    const [h] = linkHotfixes([d], incidents, [], prs, withPagerDutyIds);
    expect(h).toMatchObject({ method: 'explicit', rule: 'incident_reference', evidence: `names "${PD_ID}"`, fixes: '1' });
    expect(h?.incident?.incident_id).toBe(PD_ID);
  });

  it('bug summaries are read with the same patterns', () => {
    const bug: Bug = {
      source: 'jira',
      item_id: '1',
      key: 'PAY-1',
      summary: `Totals wrong after ${PD_ID}`,
      labels: [],
      found_in: '',
    };
    const incidents = [incident(PD_ID, '88')];
    expect(classifyBugs([bug], incidents, defaultModel())[0]?.rule).toBe('no_match');
    expect(classifyBugs([bug], incidents, withPagerDutyIds)[0]).toMatchObject({ rule: 'incident_reference', found_in_production: 1 });
  });
});

describe('model settings: validation', () => {
  const problems = (over: Record<string, unknown>): string[] => {
    const r = configSchema.safeParse(over);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults are the rules the linker had built in', () => {
    const m = defaultModel();
    expect(m.hotfix).toEqual({ refPattern: '^(refs/heads/)?hotfix[/_-]', textPattern: '\\bhot-?fix\\b', labels: ['hotfix'] });
    expect(m.incidentReferences.map((r) => [r.pattern, r.names, r.caseSensitive])).toEqual([
      ['/incidents/([A-Z0-9]{6,20})\\b', 'id', true],
      ['\\b(?:incident\\s*#?\\s*|INC-?)(\\d+)\\b', 'number', false],
    ]);
    expect(m.workItems.blockingLinkTypes).toEqual(['blocks']);
    expect(m.workItems.milestoneDueDateField).toBe('duedate');
  });

  it('ptel.example.yaml shows the defaults of these settings', () => {
    const example = configSchema.parse(parse(readFileSync(path.join(repoRoot, 'ptel.example.yaml'), 'utf8')));
    expect(example.model.hotfix).toEqual(defaultModel().hotfix);
    expect(example.model.incidentReferences).toEqual(defaultModel().incidentReferences);
    expect(example.model.workItems.blockingLinkTypes).toEqual(defaultModel().workItems.blockingLinkTypes);
    expect(example.model.workItems.milestoneDueDateField).toBe(defaultModel().workItems.milestoneDueDateField);
    const metrics = defaultMetricsConfig();
    expect([example.metrics.criticalPriorityRank, example.metrics.criticalPriorities, example.metrics.criticalLabels]).toEqual([
      metrics.criticalPriorityRank,
      metrics.criticalPriorities,
      metrics.criticalLabels,
    ]);
  });

  it('refuses a bad regular expression with its key', () => {
    expect(problems({ model: { hotfix: { textPattern: 'hot(fix' } } })).toEqual([
      expect.stringMatching(
        /^model\.hotfix\.textPattern: expected a regular expression \(matched case-insensitively\): .*(unterminated|Unterminated)/,
      ),
    ]);
    expect(problems({ model: { incidentReferences: [{ pattern: '[', names: 'id' }] } })).toEqual([
      expect.stringMatching(/^model\.incidentReferences\.0\.pattern: expected a regular expression: /),
    ]);
  });

  it('refuses an incident pattern without a capture group, a due-date field that is no field id, and an empty blocking list', () => {
    expect(problems({ model: { incidentReferences: [{ pattern: 'INC-\\d+', names: 'number' }] } })).toEqual([
      "model.incidentReferences.0.pattern: expected a capture group around the incident's number, for example '\\bINC-(\\d+)\\b'",
    ]);
    expect(problems({ model: { workItems: { milestoneDueDateField: 'Target end' } } })).toEqual([
      "model.workItems.milestoneDueDateField: expected 'duedate' or a custom field id, for example 'customfield_10015'",
    ]);
    expect(problems({ model: { workItems: { blockingLinkTypes: [] } } })).toEqual([
      'model.workItems.blockingLinkTypes: name at least one link type, for example Blocks',
    ]);
    expect(problems({ metrics: { criticalPriorityRank: 0, criticalPriorities: ['P0', 'Urgent'] } })).toEqual([]);
  });
});
