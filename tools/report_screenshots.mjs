// Screenshots of `assignscope report` for the docs, in Debian's headless
// Chromium driven by playwright-core (tests/browser/node_modules; `npm ci
// --prefix tests/browser`). Called by tools/make_pictures.sh:
//   node tools/report_screenshots.mjs REPORT.html OUT.png VIEW
// VIEW: `diff` (the report as it opens: a diff report shows both sides and
// the priors that differ), or `gt=G` (GT G selected: its candidates, picks,
// positives and lost priors, and its row in the table) with `hover=first-lost`
// optionally hovering the first prior G lost, so the tooltip shows its cost terms.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [report, out, view = ''] = process.argv.slice(2);
if (!report || !out) {
  console.error('usage: node tools/report_screenshots.mjs REPORT.html OUT.png [gt=G[,hover=first-lost] | diff]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const module = path.join(root, 'tests/browser/node_modules/playwright-core/index.mjs');
if (!fs.existsSync(module)) {
  console.error(`${module}: missing; run npm ci --prefix tests/browser`);
  process.exit(2);
}
const { chromium } = await import(module);
const browser = await chromium.launch({
  executablePath: process.env.ASSIGNSCOPE_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(path.resolve(report)).href, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  const options = Object.fromEntries(view.split(',').filter(Boolean).map((kv) => kv.split('=')));
  if (options.gt !== undefined) {
    await page.dispatchEvent(`rect.gt[data-gt="${+options.gt}"]`, 'click');
    if (options.hover === 'first-lost') {
      const lost = await page.getAttribute('circle.sel-lost', 'data-prior').catch(() => null);
      if (lost === null) throw new Error(`GT ${options.gt} lost no prior: nothing to hover`);
      await page.hover(`circle.positive[data-prior="${lost}"]`, { force: true });
    }
  }
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  await page.screenshot({ path: out });
  console.log(`${out}: ${fs.statSync(out).size} bytes`);
} finally {
  await browser.close();
}
