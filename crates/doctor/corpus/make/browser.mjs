// Browser captures: Chromium (playwright-core, /usr/bin/chromium) runs the oauth4webapi SPA
// (spa.js) against the provider, and Playwright's recordHar writes the capture: HAR with embedded
// bodies, or for a path ending in .zip Playwright's default there, bodies attached as files.
//
// Usage: ISSUER=... HAR=out.har|out.zip node browser.mjs MODE
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

import { chromium } from 'playwright-core';

const mode = process.argv[2];
const har = process.env.HAR;
const here = new URL('.', import.meta.url);
const page = '<!doctype html><meta charset="utf-8"><title>spa</title><script type="module" src="/spa.js"></script>';
const files = {
  '/spa.js': new URL('spa.js', here),
  '/oauth4webapi.js': new URL('node_modules/oauth4webapi/build/index.js', here),
};
const web = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/' || path === '/cb.html' || path === '/index.html') {
    res.setHeader('content-type', 'text/html');
    res.end(page);
  } else if (files[path]) {
    res.setHeader('content-type', 'text/javascript');
    res.end(await readFile(files[path]));
  } else {
    res.statusCode = 404;
    res.end('not found');
  }
});
await new Promise((r) => web.listen(7002, '127.0.0.1', r));

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const context = await browser.newContext({
  // The app's own scripts are left out (urlFilter): they are not part of the exchange.
  recordHar: { path: har, content: har.endsWith('.zip') ? 'attach' : 'embed', urlFilter: /^(?!.*\.js(\?|$))/ },
});
const tab = await context.newPage();
const start = `http://127.0.0.1:7002/?mode=${mode}&issuer=${encodeURIComponent(process.env.ISSUER)}`;
await tab.goto(start);
if (mode === 'unregistered_redirect') {
  await tab.waitForLoadState('load');
  await tab.waitForTimeout(1000);
} else {
  await tab.waitForFunction(() => document.title.startsWith('done'), null, { timeout: 40_000 });
}
console.error(await tab.title());
await context.close();
await browser.close();
web.close();
