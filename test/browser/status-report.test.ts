import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusHtml } from '../../workers/reports/html.js';
import type { StatusReport } from '../../workers/reports/status.js';
import { HOSTILE_TEXT } from '../support/exported-month.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { scenarioReport, statusScenario, type StatusScenario } from '../support/status-report.js';

let s: StatusScenario;
let report: StatusReport;
beforeAll(async () => {
  s = await statusScenario();
  report = await scenarioReport(s);
}, 120_000);
afterAll(async () => {
  await s?.store.close();
});

/** A4 in PDF points (1/72 in): 210 mm by 297 mm. */
const A4 = { width: (210 / 25.4) * 72, height: (297 / 25.4) * 72 };
/** The print margin on each side, and the width left for the content in CSS pixels (96 per inch). */
const MARGIN_MM = 15;
const PRINT_WIDTH = Math.floor(((210 - 2 * MARGIN_MM) / 25.4) * 96);

const SECTIONS: Array<[string, string]> = [
  ['summary', '1. Summary'],
  ['accomplishments', '2. Accomplishments'],
  ['milestones', '3. Next milestones'],
  ['risks', '4. Top risks and issues'],
  ['decisions', '5. Decisions needed'],
  ['metrics', '6. Metrics'],
];

/**
 * The status report's HTML as a mail reader gets it: opened in headless Chromium (Debian's, installed by
 * services.sh when missing) with the network off and every request refused, read and printed to PDF.
 */
describe('the status report HTML in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    execFileSync('bash', [path.join(repoRoot, 'infra/scripts/services.sh'), 'chromium'], { stdio: ['ignore', 'inherit', 'inherit'] });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  }, 900_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** A page in an offline context that refuses every request, with what it asked for and every error it logged. */
  async function open(doc: string, viewport = { width: 1024, height: 900 }) {
    const context: BrowserContext = await browser.newContext({ offline: true, viewport, javaScriptEnabled: true });
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    const page: Page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(doc, { waitUntil: 'load' });
    return { context, page, requests, errors };
  }

  it('shows each section, its heading and its items, without a request or a console error', async () => {
    const { context, page, requests, errors } = await open(statusHtml(report));
    expect(await page.title()).toBe('Payments status, week 2026-W44');

    const shown: Array<string | null> = [];
    const sections = page.locator('[data-section]');
    for (let i = 0; i < (await sections.count()); i++) shown.push(await sections.nth(i).getAttribute('data-section'));
    expect(shown).toEqual(SECTIONS.map(([id]) => id));

    for (const [id, heading] of SECTIONS) {
      const section = page.locator(`[data-section="${id}"]`);
      expect(await section.locator('h2').innerText(), id).toBe(heading);
      expect(await section.isVisible(), id).toBe(true);
    }
    const text = async (id: string): Promise<string> => (await page.locator(`[data-section="${id}"]`).innerText()).replace(/\s+/g, ' ');
    expect(await text('summary')).toContain(report.summary.text);
    expect(await text('summary')).toContain('RED');
    for (const i of [...report.accomplishments.milestones.items, ...report.accomplishments.deployments.items])
      expect(await text('accomplishments')).toContain(`${i.name}: ${i.detail}`);
    for (const m of report.nextMilestones.items) {
      expect(await text('milestones')).toContain(m.name);
      expect(await text('milestones')).toContain(m.change);
      expect(await text('milestones')).toContain(m.command);
    }
    for (const i of [...report.risks.highRisks.items, ...report.risks.stalledDependencies.items])
      expect(await text('risks')).toContain(`${i.name} ${i.title}: ${i.detail}`);
    expect(await text('risks')).toContain(report.risks.signals.items[0]!.detail);
    for (const i of [...report.decisions.decisions.items, ...report.decisions.overdueActions.items])
      expect(await text('decisions')).toContain(`${i.name} ${i.title}: ${i.detail}`);
    for (const k of report.metrics.items) {
      expect(await text('metrics')).toContain(k.title);
      expect(await text('metrics')).toContain(k.command);
    }
    // every link goes to a web address and shows its item's name
    const links = page.locator('a');
    expect(await links.count()).toBeGreaterThanOrEqual(15);
    for (let i = 0; i < (await links.count()); i++) {
      expect(await links.nth(i).getAttribute('href')).toMatch(/^https:\/\//);
      expect(await links.nth(i).isVisible()).toBe(true);
    }

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('prints to A4 pages with nothing wider than the page inside its margins', async () => {
    const doc = statusHtml(report);
    const { context, page, requests, errors } = await open(doc, { width: PRINT_WIDTH, height: 1000 });
    await page.emulateMedia({ media: 'print' });
    // laid out at the width a page leaves inside 15 mm margins, nothing sticks out sideways
    const layout = await page.evaluate<{ doc: number; view: number; outside: string[] }>(`(() => ({
      doc: document.documentElement.scrollWidth,
      view: document.documentElement.clientWidth,
      outside: [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((e) => e.outerHTML.slice(0, 80)),
    }))()`);
    expect(layout.view).toBe(PRINT_WIDTH);
    expect(layout.doc).toBeLessThanOrEqual(layout.view);
    expect(layout.outside).toEqual([]);

    const margin = `${MARGIN_MM}mm`;
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: margin, right: margin, bottom: margin, left: margin },
    });
    const out = tempDir();
    writeFileSync(path.join(out, 'status-report.pdf'), pdf);
    const raw = pdf.toString('latin1');
    expect(raw.startsWith('%PDF-')).toBe(true);
    const pages = raw.match(/\/Type\s*\/Page(?![a-z])/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(2);
    const boxes = [...raw.matchAll(/\/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]/g)].map((m) => ({
      width: Number(m[3]) - Number(m[1]),
      height: Number(m[4]) - Number(m[2]),
    }));
    expect(boxes.length).toBeGreaterThanOrEqual(pages);
    for (const box of boxes) {
      expect(Math.abs(box.width - A4.width), `width ${box.width}`).toBeLessThan(1.5);
      expect(Math.abs(box.height - A4.height), `height ${box.height}`).toBeLessThan(1.5);
    }

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('keeps hostile text from the sources as text: no script runs and the text reads as written', async () => {
    const hostile = structuredClone(report);
    hostile.program.name = HOSTILE_TEXT;
    const risk = hostile.risks.highRisks.items[0]!;
    risk.title = HOSTILE_TEXT;
    risk.url = `https://acme.atlassian.net/browse/R-1?x="><script>document.title='pwned'</script>`;
    hostile.risks.incidents.items[0]!.url = `javascript:document.title='pwned'`;
    const { context, page, requests, errors } = await open(statusHtml(hostile));
    expect(await page.title()).toBe(`${HOSTILE_TEXT} status, week 2026-W44`);
    expect(await page.locator('h1').innerText()).toBe(`${HOSTILE_TEXT} status, week 2026-W44`);
    expect((await page.locator('[data-section="risks"]').innerText()).replace(/\s+/g, ' ')).toContain(`R-1 ${HOSTILE_TEXT}: no owner`);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    expect(await page.locator('[data-section="risks"] a').first().getAttribute('href')).toBe(risk.url);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
