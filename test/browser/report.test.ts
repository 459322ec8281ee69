import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPORT_KINDS } from '../../workers/export/report-data.js';
import { exportedMonth, HOSTILE_TEXT, type ExportedMonth } from '../support/exported-month.js';
import { repoRoot } from '../support/harness.js';

let exported: ExportedMonth;
beforeAll(async () => {
  exported = await exportedMonth();
}, 120_000);
afterAll(() => exported.store.close());

/**
 * report.html as a reader gets it: opened in headless Chromium (Debian's, installed by services.sh when
 * missing) with the network off and every request refused, printed to PDF and photographed.
 */
describe('report.html in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    execFileSync('bash', [path.join(repoRoot, 'infra/scripts/services.sh'), 'chromium'], { stdio: ['ignore', 'inherit', 'inherit'] });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  }, 900_000);
  afterAll(async () => {
    await browser?.close();
  });

  const SECTIONS = ['trends', 'kpis', 'risks', 'stalls', 'incidents'];

  it('shows every section of every scope without a request or an error, prints to A4 pages, and is no blank picture', async () => {
    const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(exported.report, { waitUntil: 'load' });

    // the hostile text stayed text: no script ran
    expect(await page.title()).toBe('KPI report: September 2026');
    const expected = exported.json.scopes.filter((s) => REPORT_KINDS.includes(s.kind)).map((s) => `${s.kind}:${s.id}`);
    const sections = page.locator('section.scope');
    const shown: Array<string | null> = [];
    for (let i = 0; i < (await sections.count()); i++) shown.push(await sections.nth(i).getAttribute('data-scope'));
    expect(shown).toEqual(expected);
    for (let i = 0; i < expected.length; i++) {
      const scope = sections.nth(i);
      expect(await scope.locator('h2').isVisible()).toBe(true);
      for (const name of SECTIONS) expect(await scope.locator(`[data-section="${name}"]`).isVisible(), `${expected[i]} ${name}`).toBe(true);
    }
    const team = sections.nth(expected.indexOf(`team:${exported.demo.org.programs[0]!.teams[0]!.id}`));
    expect(await team.locator('[data-section="risks"]').innerText()).toContain(HOSTILE_TEXT);
    expect(await team.locator('[data-section="trends"] svg').count()).toBeGreaterThanOrEqual(4);
    expect(await sections.nth(0).locator('[data-section="kpis"] tbody tr[data-metric]').count()).toBe(
      exported.json.kpis.filter((k) => k.scope_kind === 'org').length,
    );

    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g)?.length ?? 0;
    // a title page, then every scope on pages of its own
    expect(pages).toBeGreaterThan(expected.length);

    const png = await page.screenshot({ path: path.join(exported.out, 'report.png') });
    expect(png.length).toBeGreaterThan(30_000);
    // Decode the picture in the browser: many colours and enough ink, not one flat colour.
    const probe = await context.newPage();
    const stats = z.object({ width: z.number(), height: z.number(), colours: z.number(), ink: z.number() }).parse(
      await probe.evaluate(`(async () => {
        const bytes = Uint8Array.from(atob('${png.toString('base64')}'), (c) => c.charCodeAt(0));
        const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(image.width, image.height);
        const g = canvas.getContext('2d');
        g.drawImage(image, 0, 0);
        const d = g.getImageData(0, 0, image.width, image.height).data;
        const colours = new Set();
        let ink = 0;
        for (let i = 0; i < d.length; i += 4) {
          colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
          if (d[i] + d[i + 1] + d[i + 2] < 384) ink++;
        }
        return { width: image.width, height: image.height, colours: colours.size, ink: ink / (d.length / 4) };
      })()`),
    );
    expect(stats).toMatchObject({ width: 1280, height: 900 });
    expect(stats.colours).toBeGreaterThan(50);
    expect(stats.ink).toBeGreaterThan(0.01);
    expect(stats.ink).toBeLessThan(0.5);

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('opens with the status readout, which reads at phone width (390 px) with no sideways scroll, its colour shown and its items linked', async () => {
    const context = await browser.newContext({ offline: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await context.route('**/*', (route) => route.abort());
    const page = await context.newPage();
    await page.setContent(exported.report, { waitUntil: 'load' });

    // A readout page per program, the org's first (the demo has several programs).
    const programs = exported.demo.org.programs.map((p) => `program:${p.id}`);
    expect(programs.length).toBeGreaterThan(1);
    const readouts = page.locator('section.readout');
    const pages: Array<string | null> = [];
    for (let i = 0; i < (await readouts.count()); i++) pages.push(await readouts.nth(i).getAttribute('data-readout'));
    expect(pages).toEqual(['org:org', ...programs]);
    // The readout comes first after the title; the page is exactly as wide as the viewport (no horizontal
    // overflow); the KPI table, wider than a phone, scrolls inside its own box.
    const layout = z
      .object({
        first: z.string().nullable(),
        doc: z.number(),
        body: z.number(),
        view: z.number(),
        box: z.object({ scroll: z.number(), client: z.number(), overflow: z.string() }),
        badge: z.object({ bg: z.string(), right: z.number(), bottom: z.number() }),
        outside: z.array(z.string()),
      })
      .parse(
        await page.evaluate(`(() => {
          const box = document.querySelector('section.scope [data-section="kpis"] .scroll');
          const badge = document.querySelector('section.readout .status .badge');
          const r = badge.getBoundingClientRect();
          return {
            first: document.querySelector('body > header').nextElementSibling.getAttribute('data-section'),
            doc: document.documentElement.scrollWidth,
            body: document.body.scrollWidth,
            view: document.documentElement.clientWidth,
            box: { scroll: box.scrollWidth, client: box.clientWidth, overflow: getComputedStyle(box).overflowX },
            badge: { bg: getComputedStyle(badge).backgroundColor, right: r.right, bottom: r.bottom },
            outside: [...document.querySelectorAll('section.readout *')]
              .filter((e) => e.getBoundingClientRect().right > 390.5)
              .map((e) => e.outerHTML.slice(0, 80)),
          };
        })()`),
      );
    expect(layout.first).toBe('readout');
    expect(layout.view).toBe(390);
    expect(layout.doc).toBeLessThanOrEqual(layout.view);
    expect(layout.body).toBeLessThanOrEqual(layout.view);
    expect(layout.box.scroll).toBeGreaterThan(layout.box.client);
    expect(layout.box.overflow).toBe('auto');
    // Nothing in the readout sticks out of the viewport.
    expect(layout.outside).toEqual([]);

    // The status colour: the badge says it in a word, on that colour, within the first screen.
    const status = readouts.first().locator('.status');
    const colour = await status.getAttribute('data-status');
    expect(['red', 'amber', 'green']).toContain(colour);
    expect((await status.locator('.badge').innerText()).toLowerCase()).toBe(colour);
    expect(await status.locator('.badge').isVisible()).toBe(true);
    const expectedBg = { red: 'rgb(183, 28, 28)', amber: 'rgb(138, 83, 0)', green: 'rgb(26, 107, 48)' }[
      colour as 'red' | 'amber' | 'green'
    ];
    expect(layout.badge.bg).toBe(expectedBg);
    expect(layout.badge.right).toBeLessThanOrEqual(390);
    expect(layout.badge.bottom).toBeLessThanOrEqual(844);
    expect(await status.locator('.why').innerText()).not.toBe('');

    // Every named item of the readout links to its source.
    const lines = readouts.first().locator('[data-readout-section] li[data-flag], [data-readout-section] li[data-change]');
    expect(await lines.count()).toBeGreaterThan(0);
    for (let i = 0; i < (await lines.count()); i++) {
      const href = await lines.nth(i).locator('a').first().getAttribute('href');
      expect(href, await lines.nth(i).innerText()).toMatch(/^https?:\/\//);
    }
    expect(await readouts.first().locator('[data-readout-section="risks"] li a').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(exported.out, 'report-phone.png'), fullPage: false });
    await context.close();
  });
});
