// Issue 3: the login in a real browser. Headless Chromium (Debian's, through playwright-core)
// opens the authorization URL, signs in, allows, and lands on a local callback server; the
// code is then exchanged with openid-client. Desktop (1280x800) and phone (390x844) viewports;
// screenshots and a HAR of the desktop login. Writes $RESULTS_DIR/chromium.json and
// $RESULTS_DIR/chromium/*; on success copies the screenshots to docs/screenshots/ and the HAR
// to interop/captures/candor-login.har.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { ISSUER, RESULTS_DIR, Results, assert, createClient, createUser, describeError, log, throwaway } from './lib.mjs';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = join(RESULTS_DIR, 'chromium');
mkdirSync(OUT, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const pwVersion = JSON.parse(readFileSync(new URL('./node_modules/playwright-core/package.json', import.meta.url))).version;
const SCOPE = 'openid profile email';

// The redirect_uri: a tiny local server that shows a plain page for the callback.
const callbacks = [];
const server = createServer((req, res) => {
  callbacks.push(req.url);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><meta charset="utf-8"><title>Callback</title><p>Callback received.</p>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const REDIRECT_URI = `http://127.0.0.1:${server.address().port}/chromium/callback`;

let browser;
let results;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false, // --no-sandbox: we run as root in CI
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  results = new Results('chromium.json', `chromium ${browser.version()} (playwright-core ${pwVersion})`);
} catch (err) {
  results = new Results('chromium.json', `chromium (playwright-core ${pwVersion})`);
  const why = `Chromium did not start (${CHROMIUM}): ${describeError(err).split('\n')[0]}`;
  results.record('browser_login_page', 'fail', why);
  results.record('browser_consent_page', 'fail', why);
  results.record('browser_page_script', 'fail', why);
  server.close();
  process.exit(0);
}

// Throwaway registrations: this HAR and these screenshots are committed.
const web = createClient('chromium-web', { redirectUris: [REDIRECT_URI], scope: SCOPE });
// One user per viewport: Candor remembers a consent, and each viewport must see the page.
const users = {
  desktop: { username: 'chromium-alice', password: throwaway('pw'), email: 'chromium-alice@example.com', name: 'Alice Example' },
  phone: { username: 'chromium-bob', password: throwaway('pw'), email: 'chromium-bob@example.com', name: 'Bob Example' },
};
for (const u of Object.values(users)) createUser(u.username, u.password, u.email, u.name);
const config = await client.discovery(new URL(ISSUER), web.client_id, { client_secret: web.client_secret }, client.ClientSecretBasic(web.client_secret), {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(config);

const VIEWPORTS = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
  { name: 'phone', options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } },
];

/** Layout problems a user would see: sideways scrolling, controls outside the viewport. */
async function layoutProblems(page, selectors) {
  return page.evaluate((sels) => {
    const problems = [];
    const w = window.innerWidth;
    const sw = document.documentElement.scrollWidth;
    if (sw > w) problems.push(`page is ${sw}px wide in a ${w}px viewport (horizontal scrolling)`);
    for (const sel of sels) {
      const el = document.querySelector(sel);
      if (!el) { problems.push(`${sel} missing`); continue; }
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) problems.push(`${sel} has no size`);
      if (r.left < 0 || r.right > w) problems.push(`${sel} sticks out horizontally (${Math.round(r.left)}..${Math.round(r.right)} of ${w})`);
      if (r.bottom > window.innerHeight) problems.push(`${sel} below the fold (bottom ${Math.round(r.bottom)} of ${window.innerHeight})`);
    }
    return problems;
  }, selectors);
}

const login = {}; // viewport -> detail or Error
let script; // the pages' script, checked once on the desktop: detail or Error
const notes = new Set();
const consent = {};
for (const vp of VIEWPORTS) {
  const har = vp.name === 'desktop' ? join(OUT, 'candor-login.har') : undefined;
  const context = await browser.newContext({ ...vp.options, ...(har ? { recordHar: { path: har, content: 'embed', mode: 'full' } } : {}) });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location()?.url ?? '';
    // Chromium asks every origin for /favicon.ico; a 404 there is noise, noted once.
    if (new URL(at || 'about:blank', 'http://x').pathname === '/favicon.ico') notes.add(`no favicon (${new URL(at).origin}/favicon.ico answers 404)`);
    else pageErrors.push(`console: ${m.text()} ${at}`);
  });
  page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  const user = users[vp.name];
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: SCOPE, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  try {
    // --- the login page
    const res = await page.goto(url.href);
    assert(res.status() === 200, `authorize answered ${res.status()}`);
    await page.getByLabel('Username').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(OUT, `login-${vp.name}.png`) });
    const title = await page.title();
    const loginLayout = await layoutProblems(page, ['input[name=username]', 'input[name=password]', 'button[type=submit]']);
    if (vp.name === 'phone') {
      // A wrong password first: the error must show on the login page, not elsewhere.
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password', { exact: true }).fill('wrong-throwaway-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[role=alert]').waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(OUT, `login-error-${vp.name}.png`) });
      login.errorText = (await page.locator('[role=alert]').innerText()).trim();
    }
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    if (vp.name === 'desktop') {
      // Show password: the script reveals the field and hides it again before submitting.
      const field = page.getByLabel('Password', { exact: true });
      await page.getByLabel('Show password').check();
      const shown = await field.getAttribute('type');
      await page.getByLabel('Show password').uncheck();
      const hidden = await field.getAttribute('type');
      script = shown === 'text' && hidden === 'password'
        ? 'Show password switches the field to text and back'
        : new Error(`Show password: type '${shown}' when checked, '${hidden}' when unchecked`);
    }
    await page.getByRole('button', { name: 'Sign in' }).click();
    // --- the consent page
    const allow = page.locator('button[name=consent][value=allow]');
    await allow.waitFor({ timeout: 10_000 });
    // POST/redirect/GET: the consent page is a GET of its own, so Back never resubmits.
    assert(new URL(page.url()).pathname.endsWith('/consent') && new URL(page.url()).searchParams.get('pending'),
      `after sign-in the browser is at ${page.url().split('?')[0]}, not GET /consent?pending=…`);
    assert(loginLayout.length === 0, `login page layout: ${loginLayout.join('; ')}`);
    login[vp.name] = `'${title}', labelled username/password, layout ok`;
    await page.screenshot({ path: join(OUT, `consent-${vp.name}.png`) });
    const text = await page.locator('body').innerText();
    assert(text.includes(web.client_name ?? web.client_id), 'consent page does not name the client');
    for (const sc of ['profile', 'email']) assert(text.includes(sc), `consent page does not list scope '${sc}'`);
    const consentLayout = await layoutProblems(page, ['button[name=consent][value=allow]', 'button[name=consent][value=deny]']);
    assert(consentLayout.length === 0, `consent page layout: ${consentLayout.join('; ')}`);
    await allow.click();
    // --- the callback
    await page.waitForURL((u) => u.href.startsWith(REDIRECT_URI), { timeout: 10_000 });
    const cb = new URL(page.url());
    assert(cb.searchParams.get('code'), `callback without code: ${cb.search}`);
    assert(cb.searchParams.get('state') === state, `state '${cb.searchParams.get('state')}', expected '${state}'`);
    assert(cb.searchParams.get('iss') === ISSUER, `iss '${cb.searchParams.get('iss')}', expected '${ISSUER}'`);
    const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    assert(tokens.claims().sub, 'id_token without sub');
    assert(pageErrors.length === 0, `browser errors: ${pageErrors.join('; ')}`);
    consent[vp.name] = `sign-in -> 303 -> GET /consent; allow -> callback with code, state, iss; code exchanged (id_token sub ${tokens.claims().sub.slice(0, 8)}…)`;
    if (vp.name === 'desktop' && typeof script === 'string') {
      // The catalogue's search filters rows as one types, with no request to the server.
      await page.goto(`${ISSUER}/docs/errors`);
      const all = await page.locator('tr[data-code]').count();
      const requests = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.getByLabel('Search the catalogue').fill('trailing slash');
      const visible = page.locator('tr[data-code]:visible');
      const shown = await visible.count();
      const codes = await visible.evaluateAll((rows) => rows.map((r) => r.dataset.code));
      assert(shown > 0 && shown < all, `search 'trailing slash' shows ${shown} of ${all} rows`);
      assert(codes.includes('redirect_uri.trailing_slash'), `search 'trailing slash' shows ${codes.join(', ')}`);
      assert(requests.length === 0, `search made requests: ${requests.join(', ')}`);
      await page.getByLabel('Search the catalogue').fill('no-such-words-anywhere');
      assert(await page.locator('#search-none').isVisible(), 'no "No code matches" when nothing matches');
      assert(pageErrors.length === 0, `browser errors: ${pageErrors.join('; ')}`);
      script += `; catalogue search 'trailing slash' shows ${shown} of ${all} codes (${codes.join(', ')}), no request, no CSP error`;
    }
  } catch (err) {
    const shot = join(OUT, `failure-${vp.name}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    const e = new Error(`${describeError(err).split('\n')[0]} (at ${page.url().split('?')[0]}; screenshot ${shot})`);
    if (!login[vp.name]) login[vp.name] = e;
    else consent[vp.name] = e;
  }
  await context.close(); // writes the HAR
}
await browser.close();
server.close();

function report(id, outcome) {
  const failed = VIEWPORTS.filter((v) => !(typeof outcome[v.name] === 'string'));
  const text = VIEWPORTS.map((v) => `${v.name}: ${outcome[v.name] instanceof Error ? outcome[v.name].message : outcome[v.name] ?? 'not reached'}`).join(' | ');
  results.record(id, failed.length ? 'fail' : 'pass', text);
  return failed.length === 0;
}
const loginOk = report('browser_login_page', { ...login, phone: typeof login.phone === 'string' ? `${login.phone}; wrong password shows '${login.errorText}'` : login.phone });
results.record('browser_page_script', typeof script === 'string' ? 'pass' : 'fail', script instanceof Error ? script.message : script ?? 'not reached');
const consentOk = report('browser_consent_page', { ...consent, ...(notes.size && typeof consent.phone === 'string' ? { phone: `${consent.phone}; note: ${[...notes].join('; ')}` } : {}) });

// Docs show what users see: copy only from a run where both pages worked.
if (loginOk && consentOk) {
  const shots = join(REPO, 'docs', 'screenshots');
  mkdirSync(shots, { recursive: true });
  for (const f of ['login-desktop.png', 'consent-desktop.png', 'login-phone.png', 'consent-phone.png']) copyFileSync(join(OUT, f), join(shots, f));
  const captures = join(REPO, 'interop', 'captures');
  mkdirSync(captures, { recursive: true });
  if (existsSync(join(OUT, 'candor-login.har'))) copyFileSync(join(OUT, 'candor-login.har'), join(captures, 'candor-login.har'));
  log(`copied screenshots to ${shots} and the HAR to ${captures}`);
}
