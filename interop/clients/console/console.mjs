// The console (/admin) in headless Chromium (Debian's, through playwright-core), against the
// suite's shared `candor serve --dev`: sign-in through Candor itself (code + PKCE), every page
// the console's nav links to and every detail page the Clients and Users lists link to, axe-core
// on each (wcag2a, wcag2aa, wcag21aa; serious or critical fails), the headers (CSP without
// 'unsafe-inline', frame-ancestors 'none'), no request to another origin, the change forms
// (found on the pages, acted on in the browser, checked in the database through the CLI),
// refusals for a viewer and without a session, and screenshots at desktop and phone width.
// Writes $RESULTS_DIR/console.json and $RESULTS_DIR/console/*; when the pages passed, copies the
// screenshots to docs/screenshots/console-<page>-<desktop|phone>.png.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Browser, ISSUER, RESULTS_DIR, Results, assert, candor, describeError, parseForm, sleep, throwaway } from '../node/lib.mjs';

const require = createRequire(import.meta.url);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = join(RESULTS_DIR, 'console');
mkdirSync(OUT, { recursive: true });
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const version = (pkg) => JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
const ORIGIN = new URL(ISSUER).origin;
const HOME = `${ISSUER}/admin`;
const HOME_PATH = new URL(HOME).pathname;
const log = (...a) => console.log('[console]', ...a);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const DOCS_MAX_BYTES = 200 * 1024;

// --- registrations (console- prefix: the runner's directory name) ----------------------------
const people = {
  admin: { username: 'console-admin', password: throwaway('pw'), role: 'admin' },
  viewer: { username: 'console-viewer', password: throwaway('pw'), role: 'viewer' },
  target: { username: 'console-target', password: throwaway('pw') }, // roles, disable, reset, sessions
  locked: { username: 'console-locked', password: throwaway('pw') }, // locked out, then unlocked
};
for (const p of Object.values(people)) {
  const args = ['user', 'create', '--username', p.username, '--password-stdin', '--email', `${p.username}@example.com`, '--name', p.username];
  if (p.role) args.push('--role', p.role);
  candor(args, `${p.password}\n`);
}
const SAMPLE_REDIRECT = 'http://127.0.0.1/console/callback';
const sample = candor(['client', 'create', '--name', 'console-sample', '--client-id', 'console-sample',
  '--redirect-uri', SAMPLE_REDIRECT, '--scope', 'openid profile']);
let sampleSecret = sample.client_secret;

const users = () => Object.fromEntries(candor(['user', 'list']).map((u) => [u.username, u]));
const clientShow = (id) => { try { return candor(['client', 'show', id]); } catch { return null; } };
/** What the database holds of clients and users, to compare before and after a refused POST. */
const snapshot = () => JSON.stringify({ clients: candor(['client', 'list']), users: candor(['user', 'list']) });

/** Whether `secret` authenticates console-sample (introspection needs client authentication). */
async function secretWorks(secret) {
  const res = await fetch(`${ISSUER}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`console-sample:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=not-a-token',
  });
  return res.status === 200;
}

// --- sign-ins without a browser (lockout, reset password, a session to end) -------------------
let lastSignIn = 0; // when the last sign-in attempt was made: the next runner needs the address bucket full

function authorizeUrl() {
  const challenge = createHash('sha256').update(throwaway('verifier')).digest('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'console-sample', redirect_uri: SAMPLE_REDIRECT,
    scope: 'openid profile', state: throwaway('state'), code_challenge: challenge, code_challenge_method: 'S256' });
  return `${ISSUER}/authorize?${q}`;
}

/** One sign-in at Candor's login page through console-sample: { ok, status, alert, jar }. `ok`: the password was accepted (303 onwards). */
async function trySignIn(username, password, jar = new Browser()) {
  for (let attempt = 0; attempt < 4; attempt++) {
    let res = await jar.fetch(authorizeUrl());
    const html = await res.text();
    const form = parseForm(html);
    assert(form && form.inputs.includes('password'), `GET /authorize did not show the login page (HTTP ${res.status})`);
    const fields = new URLSearchParams(form.hidden);
    fields.set('username', username);
    fields.set('password', password);
    lastSignIn = Date.now();
    res = await jar.fetch(new URL(form.action, ISSUER), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
    const body = res.status >= 300 && res.status < 400 ? '' : await res.text();
    const alert = (body.match(/role="alert"[^>]*>([^<]*)</) ?? [])[1]?.trim() ?? '';
    if (res.status === 429 && !/lock/i.test(alert)) { // the sign-in rate of this address: wait as told, then again
      await sleep(1000 * Math.min(30, Number(res.headers.get('retry-after') || 5)));
      continue;
    }
    return { ok: res.status >= 300 && res.status < 400, status: res.status, alert, jar };
  }
  throw new Error(`sign-in of ${username}: still rate-limited (429) after 4 tries`);
}

/** Signs `username` in through console-sample and allows it: a session and a consent exist then. */
async function signInAndConsent(username, password) {
  const jar = new Browser();
  const seen = [];
  lastSignIn = Date.now();
  await jar.authorize(authorizeUrl(), { username, password, redirectUri: SAMPLE_REDIRECT, seen });
  return seen;
}

// --- the browser ---------------------------------------------------------------------------
let browser;
let results;
try {
  // As the node runner's chromium.mjs launches it (no sandbox: CI runs as root).
  const args = ['gpu', 'quic', 'background-networking', 'component-update', 'sync'].map((f) => `--disable-${f}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args: [...args, '--no-first-run'] });
  results = new Results('console.json', `console: chromium ${browser.version()}, axe-core ${version('axe-core')}`);
} catch (err) {
  results = new Results('console.json', `console: chromium, axe-core ${version('axe-core')}`);
  const why = `Chromium did not start (${CHROMIUM}): ${describeError(err).split('\n')[0]}`;
  for (const s of ['console-admin-pages-axe', 'console-pages-headers', 'console-admin-actions', 'console-viewer-refused', 'console-anonymous-refused']) results.record(s, 'fail', why);
  process.exit(0);
}

/** A browser context that records every request to another origin and every page error. */
async function newContext() {
  const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
  const foreign = new Set();
  const errors = [];
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:', 'about:'].includes(u.protocol) && u.origin !== ORIGIN) foreign.add(`${r.method()} ${u.origin}${u.pathname}`);
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { context, page, foreign, errors };
}

const isSignInPage = (page) => page.locator(`a[href$="${HOME_PATH}/login"]`).count().then((n) => n > 0);
const consoleNav = (page) => page.locator('nav[aria-label="Console"]');

/** The real flow: /admin -> sign-in -> Candor's login page -> consent if shown -> /admin. */
async function signIn(page, who) {
  const steps = [];
  await page.goto(HOME);
  assert(await isSignInPage(page), `GET ${HOME_PATH} without a session shows no sign-in link`);
  await page.locator(`a[href$="${HOME_PATH}/login"]`).first().click();
  await page.getByLabel('Username').waitFor({ timeout: 10_000 });
  steps.push('login page');
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  lastSignIn = Date.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  const allow = page.locator('button[name=consent][value=allow]');
  if (await allow.count()) {
    steps.push('consent');
    await allow.click();
    await page.waitForLoadState();
  }
  const url = new URL(page.url());
  assert(url.pathname === HOME_PATH || url.pathname === `${HOME_PATH}/`, `after sign-in the browser is at ${url.pathname}, not ${HOME_PATH}`);
  assert(await consoleNav(page).count(), `signed in as ${who.username} but ${HOME_PATH} shows no console nav: ${(await page.locator('body').innerText()).slice(0, 200)}`);
  steps.push(HOME_PATH);
  return steps.join(' -> ');
}

/** The pages: the nav's links (same origin, under /admin), then the detail pages the lists link to. */
async function discoverPages(page) {
  await page.goto(HOME);
  const nav = await consoleNav(page).locator('a[href]').evaluateAll((as) => as.map((a) => ({ href: a.href, text: a.textContent.trim() })));
  const pages = [];
  const seen = new Set();
  const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  for (const { href, text } of nav) {
    const u = new URL(href);
    if (u.origin !== ORIGIN || !u.pathname.startsWith(HOME_PATH) || seen.has(u.pathname)) continue;
    seen.add(u.pathname);
    pages.push({ name: slug(text) || slug(u.pathname.slice(HOME_PATH.length)) || 'overview', url: u.href, path: u.pathname });
  }
  // Detail pages: links from a list page to /admin/<list>/<something>.
  const details = [];
  for (const list of pages.filter((p) => /\/(clients|users)$/.test(p.path))) {
    await page.goto(list.url);
    const links = await page.locator('main a[href], .card a[href]').evaluateAll((as) => as.map((a) => a.href));
    for (const href of links) {
      const u = new URL(href);
      if (u.origin !== ORIGIN || !u.pathname.startsWith(`${list.path}/`) || seen.has(u.pathname)) continue;
      seen.add(u.pathname);
      const id = decodeURIComponent(u.pathname.slice(list.path.length + 1));
      const kind = list.path.endsWith('clients') ? 'client' : 'user';
      details.push({ name: kind, id, url: u.href, path: u.pathname, kind });
    }
  }
  return { pages, details };
}

/** axe-core on the page as it is: the violations, with where they are. */
async function runAxe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE); // through DevTools: the page's CSP rightly refuses an inline script
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] }, resultTypes: ['violations'] }));
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 160), summary: (n.failureSummary || '').split('\n').slice(0, 3).join(' ') })),
  }));
}

/** A full-page screenshot, cut at SHOT_MAX_HEIGHT so that a long table keeps the PNG small. */
const SHOT_MAX_HEIGHT = 1600;
async function screenshot(page, path) {
  const { width, height } = await page.evaluate(() => ({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight }));
  const viewport = page.viewportSize();
  await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: Math.min(width, viewport.width), height: Math.min(height, SHOT_MAX_HEIGHT) } });
}

/** The header checks of one response: problems as text. */
function headerProblems(headers) {
  const problems = [];
  const csp = headers['content-security-policy'];
  if (!csp) return ['no Content-Security-Policy'];
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => { const [k, ...v] = d.split(/\s+/); return [k.toLowerCase(), v]; }));
  for (const [k, v] of Object.entries(directives)) if (v.includes("'unsafe-inline'")) problems.push(`CSP ${k} has 'unsafe-inline'`);
  if (!(directives['frame-ancestors'] ?? []).includes("'none'") || directives['frame-ancestors'].length !== 1) problems.push(`CSP frame-ancestors is '${(directives['frame-ancestors'] ?? []).join(' ')}', not 'none'`);
  return problems;
}

/** The POST forms of the page: action, hidden fields, the other field names, the submit text. */
const postForms = (page) => page.locator('form').evaluateAll((forms) => forms
  .filter((f) => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
  .map((f) => ({
    action: f.action,
    hidden: [...f.querySelectorAll('input[type=hidden]')].map((i) => [i.name, i.value]),
    fields: [...f.querySelectorAll('input:not([type=hidden]), select, textarea')].map((i) => i.name).filter(Boolean),
    button: [...f.querySelectorAll('button, input[type=submit]')].map((b) => (b.textContent || b.value).trim()).join(' / '),
  })));

/** Forms that change nothing: signing out, the doctor (it reads a capture and stores nothing). */
const readOnlyForm = (f) => /\/(logout|doctor)$/.test(new URL(f.action).pathname);
/** Whether a form acts on this runner's own objects (console-…): the crafted POSTs must never
 * touch another runner's clients or users, even if a refusal were broken. */
const ours = (f) => {
  const detail = discovered.details.find((d) => d.path === new URL(f.action).pathname);
  const named = f.hidden.filter(([k]) => ['client_id', 'username'].includes(k)).map(([, v]) => v);
  return [...(detail ? [detail.id] : []), ...named].every((id) => id.startsWith('console-'));
};
const formKey = (f) => `${new URL(f.action).pathname}${f.hidden.find(([k]) => k === 'op') ? `#${f.hidden.find(([k]) => k === 'op')[1]}` : ''}`;

// =============================================================================================
const admin = await newContext();
const pageReports = []; // { name, path, status, violations, headers }
const shots = []; // [file, docs name]
let discovered = { pages: [], details: [] };
const changeForms = new Map(); // formKey -> example form (from the admin's pages)
let adminCsrf = '';
let signInSteps;
let layoutNotes = [];
let visited = false;
const needVisited = () => assert(visited, 'not run: the admin could not sign in and visit the pages (see console-admin-pages-axe)');

await results.run('console-admin-pages-axe', [], async () => {
  signInSteps = await signIn(admin.page, people.admin);
  discovered = await discoverPages(admin.page);
  assert(discovered.pages.length > 0, 'the console nav links to no page');
  const all = [...discovered.pages, ...discovered.details];
  const serious = [];
  const minor = [];
  // One detail page of each kind gets screenshots: console-sample's, console-admin's (else the first).
  const shown = new Set(['client', 'user'].map((kind) => {
    const of = discovered.details.filter((d) => d.kind === kind);
    return (of.find((d) => ['console-sample', 'console-admin'].includes(d.id)) ?? of[0])?.path;
  }));
  for (const p of all) {
    const shotName = !p.kind ? p.name : shown.has(p.path) ? p.kind : null;
    const report = { name: p.kind ? `${p.kind} ${p.id}` : p.name, path: p.path, violations: [] };
    pageReports.push(report);
    for (const [vp, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      await admin.page.setViewportSize(size);
      const res = await admin.page.goto(p.url);
      report.status = res.status();
      report.headers = headerProblems(res.headers());
      assert(res.status() === 200, `GET ${p.path} answered ${res.status()}`);
      assert(await consoleNav(admin.page).count(), `${p.path} shows no console nav (signed out?)`);
      for (const f of await postForms(admin.page)) {
        if (readOnlyForm(f) || !ours(f)) continue;
        if (!changeForms.has(formKey(f))) changeForms.set(formKey(f), { ...f, page: p.path });
        adminCsrf ||= f.hidden.find(([k]) => k === 'csrf')?.[1] ?? '';
      }
      for (const v of await runAxe(admin.page)) {
        if (report.violations.some((w) => w.id === v.id)) continue;
        v.viewport = vp;
        report.violations.push(v);
        const line = `${report.name} (${p.path}, ${vp}): ${v.id} [${v.impact}] ${v.help} — ${v.nodes.length} element(s), e.g. ${v.nodes[0]?.target}: ${v.nodes[0]?.html}`;
        (['serious', 'critical'].includes(v.impact) ? serious : minor).push(line);
      }
      if (vp === 'phone') {
        const sw = await admin.page.evaluate(() => document.documentElement.scrollWidth);
        if (sw > PHONE.width) layoutNotes.push(`${report.name}: ${sw}px wide at ${PHONE.width}px`);
      }
      if (shotName) {
        const file = join(OUT, `console-${shotName}-${vp}.png`);
        await screenshot(admin.page, file);
        shots.push([file, `console-${shotName}-${vp}.png`]);
      }
    }
  }
  writeFileSync(join(OUT, 'axe-admin.json'), `${JSON.stringify(pageReports, null, 2)}\n`);
  visited = true; // the other scenarios need the pages and forms found, not a clean axe report
  assert(admin.errors.length === 0, `browser errors: ${admin.errors.join('; ')}`);
  assert(serious.length === 0, `${serious.length} serious/critical axe violation(s): ${serious.join(' | ')}${minor.length ? ` | also minor: ${minor.join(' | ')}` : ''}`);
  return `signed in (${signInSteps}); ${all.length} pages (${discovered.pages.map((p) => p.path).join(', ')}; details: ${discovered.details.map((p) => p.path).join(', ') || 'none linked'}) at 1280x800 and 390x844: no serious/critical axe violation (wcag2a, wcag2aa, wcag21aa)${minor.length ? `; minor: ${minor.join(' | ')}` : ''}${layoutNotes.length ? `; note: scrolls sideways at phone width: ${layoutNotes.join(', ')}` : ''}; ${shots.length} screenshots`;
});

await results.run('console-pages-headers', [], async () => {
  needVisited();
  const problems = pageReports.filter((r) => r.headers.length).map((r) => `${r.path}: ${r.headers.join(', ')}`);
  assert(admin.foreign.size === 0, `requests to another origin: ${[...admin.foreign].join(', ')}`);
  assert(problems.length === 0, `header problems on ${problems.length} of ${pageReports.length} pages: ${problems.join(' | ')}`);
  return `${pageReports.length} pages: Content-Security-Policy without 'unsafe-inline', frame-ancestors 'none'; no request left ${ORIGIN}`;
});

// --- the change actions ------------------------------------------------------------------------
/** Finds a POST form on the current page whose action/hidden action/button matches; a Locator or null. */
async function findForm(page, { action, hiddenAction, button, field }) {
  const forms = page.locator('form[method=post], form[method=POST]');
  const n = await forms.count();
  for (let i = 0; i < n; i++) {
    const f = forms.nth(i);
    const info = await f.evaluate((el) => ({
      action: el.action,
      hidden: Object.fromEntries([...el.querySelectorAll('input[type=hidden]')].map((x) => [x.name, x.value])),
      button: [...el.querySelectorAll('button, input[type=submit]')].map((b) => (b.textContent || b.value).trim()).join(' '),
      fields: [...el.elements].map((x) => x.name).filter(Boolean),
    }));
    if (action && !action.test(new URL(info.action).pathname)) continue;
    if (hiddenAction && info.hidden.op !== hiddenAction) continue;
    if (button && !button.test(info.button)) continue;
    if (field && !Object.entries(field).every(([k, v]) => info.hidden[k] === v || (v === true && info.fields.includes(k)))) continue;
    return f;
  }
  return null;
}

async function submit(page, form) {
  await Promise.all([page.waitForNavigation({ timeout: 15_000 }), form.locator('button[type=submit], button:not([type]), input[type=submit]').first().click()]);
  return page;
}

const detailUrl = (kind, id) => `${HOME}/${kind === 'client' ? 'clients' : 'users'}/${encodeURIComponent(id)}`;
/** Goes to the page that holds the forms of a client or user: its detail page if there is one, else the list. */
async function gotoObject(page, kind, id) {
  const res = await page.goto(detailUrl(kind, id));
  if (res.status() === 200 && (await consoleNav(page).count())) return;
  await page.goto(`${HOME}/${kind === 'client' ? 'clients' : 'users'}`);
}

await results.run('console-admin-actions', [], async () => {
  needVisited();
  const page = admin.page;
  await page.setViewportSize(DESKTOP);
  const done = [];
  const missing = [];
  const act = async (what, fn) => {
    const r = await fn();
    if (r === null) missing.push(what);
    else done.push(`${what}: ${r}`);
  };

  // A change without the CSRF token is refused and changes nothing.
  const before = snapshot();
  const anyForm = [...changeForms.values()][0];
  if (anyForm) {
    const fields = Object.fromEntries(anyForm.hidden.filter(([k]) => k !== 'csrf'));
    const res = await page.request.post(anyForm.action, { form: fields, maxRedirects: 0 });
    assert(res.status() === 403, `POST ${new URL(anyForm.action).pathname} without the csrf field answered ${res.status()}, not 403`);
    assert(snapshot() === before, `POST ${new URL(anyForm.action).pathname} without the csrf field changed the database`);
    done.push(`no csrf -> 403, nothing changed`);
  }

  // Rotate console-sample's secret.
  await act('rotate a client secret', async () => {
    await gotoObject(page, 'client', 'console-sample');
    const form = (await findForm(page, { hiddenAction: 'rotate', action: /\/clients\/console-sample$/ }))
      ?? (await findForm(page, { action: /\/rotate$/, field: { client_id: 'console-sample' } }));
    if (!form) return null;
    const overlap = form.locator('select[name=overlap]');
    if (await overlap.count()) await overlap.selectOption({ index: 0 });
    const overlapChosen = (await overlap.count()) ? await overlap.inputValue() : '0';
    await submit(page, form);
    const shown = (await page.locator('pre code').allInnerTexts()).map((s) => s.trim()).filter((s) => s.length >= 20);
    assert(shown.length === 1, `after rotating, the page shows ${shown.length} secret(s) in <pre><code>`);
    const fresh = shown[0];
    assert(fresh !== sampleSecret, 'the secret shown is the old one');
    assert(await secretWorks(fresh), 'the new secret shown by the console does not authenticate console-sample at /introspect');
    const oldWorks = await secretWorks(sampleSecret);
    assert(!oldWorks || Number(overlapChosen) > 0, 'the old secret still authenticates though no overlap was chosen');
    sampleSecret = fresh;
    return `new secret authenticates at /introspect, old one ${oldWorks ? `still does (overlap ${overlapChosen} s)` : 'refused'}`;
  });

  // Set console-target's roles to viewer.
  await act("set a user's roles", async () => {
    await gotoObject(page, 'user', people.target.username);
    const onDetail = new URL(page.url()).pathname !== `${HOME_PATH}/users`;
    const form = await findForm(page, { field: { username: people.target.username, roles: true } })
      ?? (onDetail ? await findForm(page, { field: { roles: true } }) : null);
    if (!form) return null;
    const roles = form.locator('[name=roles]');
    const type = await roles.first().evaluate((el) => (el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase()));
    if (type === 'checkbox') {
      for (let i = 0; i < (await roles.count()); i++) {
        const box = roles.nth(i);
        await box.setChecked((await box.getAttribute('value')) === 'viewer');
      }
    } else if (type === 'select') await roles.selectOption(['viewer']);
    else await roles.fill('viewer');
    await submit(page, form);
    const got = users()[people.target.username]?.roles;
    assert(JSON.stringify(got) === '["viewer"]', `after setting roles 'viewer', user list says ${JSON.stringify(got)}`);
    return `user list: ${people.target.username} roles ["viewer"]`;
  });

  // Lock console-locked out (10 wrong passwords), unlock it in the console, sign in.
  await act('unlock a user', async () => {
    await gotoObject(page, 'user', people.locked.username);
    if (!(await findForm(page, { button: /unlock/i, field: { username: people.locked.username } }) ?? await findForm(page, { hiddenAction: 'unlock' }))) return null;
    let tries = 0;
    for (; tries < 12; tries++) {
      const r = await trySignIn(people.locked.username, `wrong-${tries}`);
      assert(!r.ok, 'a wrong password was accepted');
      if (/lock/i.test(r.alert)) break;
    }
    const locked = await trySignIn(people.locked.username, people.locked.password);
    assert(!locked.ok, `after ${tries + 1} wrong passwords the right one is still accepted: no lockout to lift`);
    await gotoObject(page, 'user', people.locked.username);
    const form = await findForm(page, { button: /unlock/i, field: { username: people.locked.username } }) ?? await findForm(page, { hiddenAction: 'unlock' });
    await submit(page, form);
    const after = await trySignIn(people.locked.username, people.locked.password);
    assert(after.ok, `after Unlock the right password is refused: HTTP ${after.status} '${after.alert}'`);
    return `locked after ${tries + 1} wrong passwords ('${locked.alert}'), after Unlock the password signs in`;
  });

  // --- the actions that may exist: a client created, edited, disabled, enabled, deleted.
  const created = 'console-created';
  await act('create a client', async () => {
    await page.goto(`${HOME}/clients`);
    const form = await findForm(page, { action: /\/clients$/, field: { client_name: true } });
    if (!form) return null;
    await form.locator('[name=client_name]').fill(created);
    if (await form.locator('[name=client_id]').count()) await form.locator('[name=client_id]').fill(created);
    if (await form.locator('[name=redirect_uris]').count()) await form.locator('[name=redirect_uris]').fill('http://127.0.0.1/console/created');
    if (await form.locator('[name=scope]').count()) await form.locator('[name=scope]').fill('openid');
    await submit(page, form);
    const c = clientShow(created) ?? candor(['client', 'list']).find((x) => x.client_name === created);
    assert(c, `after Register, client show/list has no client named ${created}`);
    assert(c.redirect_uris?.includes('http://127.0.0.1/console/created'), `the created client's redirect_uris are ${JSON.stringify(c.redirect_uris)}`);
    return `client show ${c.client_id}: redirect_uris ${JSON.stringify(c.redirect_uris)}`;
  });
  const createdId = () => (clientShow(created) ?? candor(['client', 'list']).find((x) => x.client_name === created))?.client_id;
  await act('edit a client', async () => {
    const id = createdId();
    if (!id) return null;
    await page.goto(detailUrl('client', id));
    const form = await findForm(page, { hiddenAction: 'edit' });
    if (!form) return null;
    await form.locator('[name=scope]').fill('openid profile');
    await form.locator('[name=redirect_uris]').fill('http://127.0.0.1/console/created\nhttp://127.0.0.1/console/edited');
    await submit(page, form);
    const c = clientShow(id);
    assert(c.scope === 'openid profile', `after Save, scope is '${c.scope}'`);
    assert(c.redirect_uris.includes('http://127.0.0.1/console/edited'), `after Save, redirect_uris are ${JSON.stringify(c.redirect_uris)}`);
    return 'client show: scope and redirect_uris changed';
  });
  for (const [state, expect] of [['disable', true], ['enable', false]]) {
    await act(`${state} a client`, async () => {
      const id = createdId();
      if (!id) return null;
      await page.goto(detailUrl('client', id));
      const form = await findForm(page, { hiddenAction: state });
      if (!form) return null;
      await submit(page, form);
      assert(clientShow(id).disabled === expect, `after ${state}, client show says disabled=${clientShow(id).disabled}`);
      return `client show: disabled=${expect}`;
    });
  }
  await act('delete a client', async () => {
    const id = createdId();
    if (!id) return null;
    await page.goto(detailUrl('client', id));
    const form = await findForm(page, { hiddenAction: 'delete' });
    if (!form) return null;
    if (await form.locator('[name=confirm]').count()) await form.locator('[name=confirm]').fill(id);
    await submit(page, form);
    assert(!clientShow(id), `after Delete, client show ${id} still finds it`);
    return `client show ${id}: not found`;
  });

  // --- users: created, disabled, enabled, password reset, a session ended, a consent revoked.
  await act('create a user', async () => {
    await page.goto(`${HOME}/users`);
    const form = await findForm(page, { action: /\/users$/, field: { username: true } });
    if (!form) return null;
    await form.locator('[name=username]').fill('console-created-user');
    for (const [k, v] of [['email', 'console-created-user@example.com'], ['name', 'Created User'], ['password', throwaway('pw')]]) {
      if (await form.locator(`[name=${k}]`).count()) await form.locator(`[name=${k}]`).fill(v);
    }
    await submit(page, form);
    assert(users()['console-created-user'], 'after Create, user list has no console-created-user');
    return 'user list: console-created-user exists';
  });
  for (const [state, expect] of [['disable', true], ['enable', false]]) {
    await act(`${state} a user`, async () => {
      await gotoObject(page, 'user', people.target.username);
      const form = await findForm(page, { hiddenAction: state, ...(new URL(page.url()).pathname.endsWith('/users') ? { field: { username: people.target.username } } : {}) });
      if (!form) return null;
      await submit(page, form);
      assert(users()[people.target.username].disabled === expect, `after ${state}, user list says disabled=${users()[people.target.username].disabled}`);
      return `user list: disabled=${expect}`;
    });
  }
  await act("reset a user's password", async () => {
    await gotoObject(page, 'user', people.target.username);
    const form = await findForm(page, { hiddenAction: 'reset' }) ?? await findForm(page, { hiddenAction: 'reset_password' }) ?? await findForm(page, { button: /reset/i });
    if (!form) return null;
    await submit(page, form);
    const shown = (await page.locator('pre code').allInnerTexts()).map((s) => s.trim()).filter(Boolean);
    assert(shown.length === 1, `after Reset, the page shows ${shown.length} password(s) in <pre><code>`);
    const r = await trySignIn(people.target.username, shown[0]);
    assert(r.ok, `the password the console generated does not sign in: HTTP ${r.status} '${r.alert}'`);
    people.target.password = shown[0];
    return 'the generated password signs in';
  });
  // A session and a consent of console-target's to act on (through console-sample), when the
  // user's page has forms for them (one per session or consent: shown only when there is one).
  const actionsOf = async () => (await postForms(page)).map((f) => f.hidden.find(([k]) => k === 'op')?.[1] ?? '');
  await gotoObject(page, 'user', people.target.username);
  if ((await actionsOf()).some((a) => /session|consent/.test(a))) {
    if (!candor(['user', 'sessions', people.target.username]).length || !candor(['user', 'consents', people.target.username]).length) {
      await signInAndConsent(people.target.username, people.target.password);
    }
  }
  for (const [what, kind, actions] of [['end a session', 'sessions', ['end_session', 'revoke_sessions']], ['revoke a consent', 'consents', ['revoke_consent']]]) {
    await act(what, async () => {
      await gotoObject(page, 'user', people.target.username);
      const present = await actionsOf();
      const chosen = actions.find((a) => present.includes(a));
      if (!chosen) return null;
      const list = () => candor(['user', kind, people.target.username]);
      const n = list().length;
      assert(n > 0, `console-target has no ${kind} after signing in through console-sample, or the console shows no form for one`);
      const form = await findForm(page, { hiddenAction: chosen });
      await submit(page, form);
      const left = list().length;
      assert(left < n, `after '${what}', candor user ${kind} still lists ${left} of ${n}`);
      return `'${chosen}': candor user ${kind} ${n} -> ${left}`;
    });
  }
  await act('delete a user', async () => {
    if (!users()['console-created-user']) return null;
    await page.goto(detailUrl('user', 'console-created-user'));
    const form = await findForm(page, { hiddenAction: 'delete' });
    if (!form) return null;
    if (await form.locator('[name=confirm]').count()) await form.locator('[name=confirm]').fill('console-created-user');
    await submit(page, form);
    assert(!users()['console-created-user'], 'after Delete, user list still has console-created-user');
    return 'user list: console-created-user gone';
  });

  const unknown = [...changeForms.keys()].filter((k) => !/rotate|roles|unlock|edit|profile|enable|disable|delete|reset|session|consent|\/clients$|\/users$/.test(k));
  assert(done.length >= 3, `only ${done.length} actions done`);
  return `${done.join('; ')}${missing.length ? `; no form for: ${missing.join(', ')}` : ''}${unknown.length ? `; forms not exercised: ${unknown.join(', ')}` : ''}`;
});

// --- the viewer ------------------------------------------------------------------------------
/** The CSRF token a session's cookie would carry (the console derives it from the cookie). */
const derivedCsrf = async (context) => {
  const c = (await context.cookies(HOME)).find((x) => x.name === 'candor_console');
  return c ? createHash('sha256').update(`candor-console-csrf:${c.value}`).digest('base64url') : '';
};
const adminDerived = await derivedCsrf(admin.context);
if (process.env.INTEROP_DEBUG) log(`csrf: page ${adminCsrf.slice(0, 6)}…, derived ${adminDerived.slice(0, 6)}…`);
await admin.context.close();

/** POSTs each change form found on the admin's pages: statuses; the database must not change. */
async function craftedPosts(request, csrf) {
  const before = snapshot();
  const answers = [];
  for (const f of changeForms.values()) {
    const form = Object.fromEntries(f.hidden.filter(([k]) => k !== 'csrf'));
    if (csrf) form.csrf = csrf;
    if (f.fields.includes('roles')) form.roles = ''; // every user here has a role: taking them all away would show
    if (f.fields.includes('confirm')) form.confirm = decodeURIComponent(new URL(f.action).pathname.split('/').pop());
    if (f.fields.includes('client_name')) form.client_name = 'console-crafted';
    if (f.fields.includes('username') && !form.username) form.username = 'console-crafted';
    const res = await request.post(f.action, { form, maxRedirects: 0 });
    const body = await res.text();
    answers.push({ key: formKey(f), status: res.status(), signIn: body.includes(`${HOME_PATH}/login`) });
  }
  const secretKept = await secretWorks(sampleSecret);
  return { answers, changed: snapshot() !== before || !secretKept };
}

await results.run('console-viewer-refused', [], async () => {
  needVisited();
  const v = await newContext();
  try {
    const steps = await signIn(v.page, people.viewer);
    const withForms = [];
    for (const p of [...discovered.pages, ...discovered.details]) {
      const res = await v.page.goto(p.url);
      assert(res.status() === 200 && (await consoleNav(v.page).count()), `the viewer cannot read ${p.path} (HTTP ${res.status()})`);
      const forms = (await postForms(v.page)).filter((f) => !readOnlyForm(f));
      if (forms.length) withForms.push(`${p.path}: ${forms.map(formKey).join(', ')}`);
    }
    assert(withForms.length === 0, `change forms shown to a viewer: ${withForms.join(' | ')}`);
    assert(changeForms.size > 0, 'no change form was found on the admin\'s pages to craft');
    // The viewer's pages carry no CSRF token; the console derives it from the session cookie,
    // so the crafted POST carries the token a viewer's form would (checked on the admin's).
    const csrfOnPage = (await v.page.locator('input[name=csrf]').count()) ? await v.page.locator('input[name=csrf]').first().getAttribute('value') : null;
    const csrf = csrfOnPage || (adminDerived && adminDerived === adminCsrf ? await derivedCsrf(v.context) : '');
    const how = csrfOnPage ? 'the CSRF token of its page' : csrf ? 'the CSRF token derived from its session cookie (as the console derives it)' : 'no CSRF token';
    const { answers, changed } = await craftedPosts(v.page.request, csrf);
    const wrong = answers.filter((a) => a.status !== 403);
    assert(!changed, `a viewer's crafted POST changed the database (answers: ${answers.map((a) => `${a.key} ${a.status}`).join(', ')})`);
    assert(wrong.length === 0, `a viewer's crafted POST was not refused with 403: ${wrong.map((a) => `${a.key} -> ${a.status}`).join(', ')}`);
    return `signed in (${steps}); ${discovered.pages.length + discovered.details.length} pages readable, no change form; ${answers.length} crafted POSTs with ${how} -> 403, database unchanged`;
  } finally {
    await v.context.close();
  }
});

await results.run('console-anonymous-refused', [], async () => {
  needVisited();
  const a = await newContext();
  try {
    const shown = [];
    for (const p of [...discovered.pages, ...discovered.details]) {
      const res = await a.page.goto(p.url);
      assert(await isSignInPage(a.page), `${p.path} without a session does not show the sign-in page (HTTP ${res.status()})`);
      assert(!(await consoleNav(a.page).count()), `${p.path} without a session shows the console nav`);
      shown.push(res.status());
    }
    const { answers, changed } = await craftedPosts(a.page.request, adminCsrf);
    assert(!changed, `a POST without a session changed the database (answers: ${answers.map((x) => `${x.key} ${x.status}`).join(', ')})`);
    const wrong = answers.filter((x) => !(x.signIn || x.status === 401 || x.status === 403));
    assert(wrong.length === 0, `a POST without a session was answered neither with the sign-in page nor 401/403: ${wrong.map((x) => `${x.key} -> ${x.status}`).join(', ')}`);
    return `${shown.length} pages show the sign-in page (HTTP ${[...new Set(shown)].join('/')}); ${answers.length} POSTs (with a stolen CSRF token) -> ${[...new Set(answers.map((x) => x.status))].join('/')} sign-in page, database unchanged`;
  } finally {
    await a.context.close();
  }
});
await browser.close();

// Docs show what users see: copy only from a run that signed in and showed every page (an axe
// violation fails the scenario but does not make the picture wrong).
if (visited) {
  const dir = join(REPO, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const big = [];
  for (const [file, name] of shots) {
    copyFileSync(file, join(dir, name));
    if (statSync(file).size > DOCS_MAX_BYTES) big.push(`${name} ${Math.round(statSync(file).size / 1024)} KB`);
  }
  log(`copied ${shots.length} screenshots to ${dir}${big.length ? ` (over 200 KB: ${big.join(', ')})` : ''}`);
}

// The next runner signs in from this address too: let its sign-in bucket refill (30/min, burst 10).
const wait = 20_000 - (Date.now() - lastSignIn);
if (wait > 0) { log(`waiting ${Math.ceil(wait / 1000)} s for the sign-in rate of 127.0.0.1 to refill`); await sleep(wait); }
