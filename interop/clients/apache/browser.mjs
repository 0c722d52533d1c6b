// Drives headless Chromium through Apache httpd + mod_auth_openidc (the relying party) and
// Candor (the provider):
//   1. sign in on Apache's /protected/ (Candor login + consent) and read what Apache hands the page;
//   2. make mod_auth_openidc refresh twice (rotation);
//   3. `candor keys rotate`, then a refresh with the pre-rotation refresh token;
//   4. log out through Apache to Candor's end_session_endpoint (and its token revocation);
//   5. sign in again: the new id_token is signed with the new key.
// Started by run.sh beside this file, which passes everything in the environment:
//   RP_URL          https://localhost:PORT (the Apache virtual host)
//   ISSUER          Candor's issuer (https, run.sh's own Candor)
//   CANDOR_BIN, CANDOR_DATA   the candor binary and that Candor's data directory (keys rotate)
//   USERNAME, PASSWORD, EXPECTED_SUB, EXPECTED_EMAIL   the test user
//   RP_CLIENT_ID    the client_id Apache uses
//   RS_CLIENT_ID, RS_CLIENT_SECRET   a confidential client allowed to introspect (checks only)
//   OUT             file to write {"results": [...], "facts": {...}} to
//   SHOTS           folder for screenshots
//   NODE_EXTRA_CA_CERTS   the test CA (for this script's own calls to Candor)
// Chromium ignores certificate errors: it is the browser, not what is under test; Apache itself
// validates Candor's certificate against the test CA (OIDCSSLValidateServer On).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set (run interop/clients/apache/run.sh)`);
  return v;
};
const RP = need('RP_URL');
const ISSUER = need('ISSUER');
const CANDOR_BIN = need('CANDOR_BIN');
const CANDOR_DATA = need('CANDOR_DATA');
const USERNAME = need('USERNAME');
const PASSWORD = need('PASSWORD');
const EXPECTED_SUB = need('EXPECTED_SUB');
const EXPECTED_EMAIL = need('EXPECTED_EMAIL');
const RP_CLIENT_ID = need('RP_CLIENT_ID');
const RS_CLIENT_ID = need('RS_CLIENT_ID');
const RS_CLIENT_SECRET = need('RS_CLIENT_SECRET');
const OUT = need('OUT');
const SHOTS = need('SHOTS');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const STEP_TIMEOUT = 20_000;
mkdirSync(SHOTS, { recursive: true });

const log = (...a) => console.log('[apache/chromium]', ...a);
const results = [];
const facts = {};
const record = (scenario, status, detail) => {
  results.push({ scenario, status, detail });
  log(`${status === 'pass' ? 'ok  ' : 'FAIL'} ${scenario}: ${detail}`);
};
const flush = () => writeFileSync(OUT, `${JSON.stringify({ results, facts }, null, 2)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A short fingerprint of a token, to tell tokens apart in details without printing them. */
const fp = (t) => (t ? `#${createHash('sha256').update(t).digest('base64url').slice(0, 8)}` : 'none');
/** A URL without its query values: origin + path + parameter names. */
const shape = (u) => {
  const url = new URL(u);
  const names = [...url.searchParams.keys()];
  return `${url.origin}${url.pathname}${names.length ? `?${names.join('&')}` : ''}`;
};
/** The JOSE header of a compact JWT. */
const jwtHeader = (t) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString('utf8'));
const short = (kid) => `${String(kid).slice(0, 8)}…`;

async function introspect(token) {
  const res = await fetch(`${ISSUER}/introspect`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(RS_CLIENT_ID)}:${encodeURIComponent(RS_CLIENT_SECRET)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

async function jwksKids() {
  const res = await fetch(`${ISSUER}/jwks`);
  const { keys } = await res.json();
  return keys.map((k) => `${k.alg}:${k.kid}`);
}

let browser;
let page;
let step = 'start';
const navigations = []; // main-frame navigations, as URL shapes
const authorizeRequests = []; // authorization request URLs (no secrets in them)
const logoutRequests = [];
const callbackParams = []; // parameter names seen on the redirect URI

async function shot(name) {
  try {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  } catch (e) {
    log(`screenshot ${name} failed: ${e.message}`);
  }
}

/** Runs one step; on failure records every scenario of `failScenarios` not yet recorded as failed. */
async function run(name, failScenarios, fn) {
  step = name;
  try {
    return await fn();
  } catch (e) {
    let where = '';
    try {
      where = ` (page ${shape(page.url())}: '${(await page.locator('body').innerText({ timeout: 2000 })).replace(/\s+/g, ' ').slice(0, 300)}')`;
    } catch {}
    await shot(`failed-${name}`);
    const detail = `step '${name}' failed: ${e.message.split('\n')[0]}${where}; last navigations: ${navigations.slice(-8).join(' -> ')}`;
    for (const s of failScenarios) if (!results.some((r) => r.scenario === s)) record(s, 'fail', detail);
    flush();
    return undefined;
  }
}

/** mod_auth_openidc's session info hook on the redirect URI (OIDCInfoHook), with the browser's cookies. */
async function infoHook(extra = '') {
  const res = await page.request.get(`${RP}/oidc/callback?info=json${extra}`, { maxRedirects: 0 });
  const text = await res.text();
  if (res.status() !== 200) throw new Error(`info hook answered ${res.status()}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Opens /protected/ and signs in on Candor's pages; returns what the protected page shows. */
async function signIn(tag) {
  await page.goto(`${RP}/protected/`);
  await page.waitForSelector('input[name=username]');
  if (!authorizeRequests.length) throw new Error(`Apache did not redirect to ${ISSUER}/authorize`);
  await shot(`${tag}-1-candor-login`);
  await page.fill('input[name=username]', USERNAME);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  // Candor shows its consent page unless this user already allowed these scopes for Apache.
  const allow = page.locator('button[name=consent][value=allow]');
  const back = page.waitForURL(`${RP}/protected/**`);
  back.catch(() => {});
  const next = await Promise.race([allow.waitFor().then(() => 'consent'), back.then(() => 'back')]);
  if (next === 'consent') {
    await shot(`${tag}-2-candor-consent`);
    await Promise.all([page.waitForURL(`${RP}/protected/**`), allow.click()]);
  }
  await page.waitForSelector('#remote-user');
  await shot(`${tag}-3-apache-protected`);
  const text = async (sel) => (await page.locator(sel).innerText()).trim();
  const json = async (sel) => {
    try {
      return JSON.parse(await text(sel));
    } catch {
      return {};
    }
  };
  return {
    consentPage: next === 'consent',
    remoteUser: await text('#remote-user'),
    sub: await text('#claim-sub'),
    email: await text('#claim-email'),
    idToken: await text('#id-token'),
    idt: await json('#id-token-payload'),
    ui: await json('#userinfo-json'),
  };
}

try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  facts.chromium = browser.version();
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('request', (req) => {
    if (!req.isNavigationRequest() || req.frame() !== page.mainFrame()) return;
    const u = req.url();
    navigations.push(`${req.method()} ${shape(u)}`);
    if (u.startsWith(`${ISSUER}/authorize`)) authorizeRequests.push(u);
    if (u.startsWith(`${ISSUER}/logout`)) logoutRequests.push(u);
    if (u.startsWith(`${RP}/oidc/callback?`) && new URL(u).searchParams.has('code')) callbackParams.push([...new URL(u).searchParams.keys()]);
  });

  // 1. Sign in ------------------------------------------------------------------------------
  const LOGIN = ['discovery', 'authorization_code_pkce', 'id_token_validation', 'userinfo', 'rp_protected_page'];
  const first = await run('sign-in', LOGIN, () => signIn('a'));
  if (first) {
    const { remoteUser, sub, email, idt, ui } = first;
    const authz = new URL(authorizeRequests[0]);
    const q = Object.fromEntries(authz.searchParams);
    facts.first_id_token_kid = jwtHeader(first.idToken).kid;
    facts.id_token_claims = Object.keys(idt).sort();
    facts.userinfo_claims = Object.keys(ui).sort();

    record('discovery', `${authz.origin}${authz.pathname}` === `${ISSUER}/authorize` ? 'pass' : 'fail',
      `mod_auth_openidc read ${ISSUER}/.well-known/openid-configuration (OIDCProviderMetadataURL, test CA trusted) and sent the browser to its authorization_endpoint ${authz.origin}${authz.pathname}`);

    const pkceOk = q.code_challenge_method === 'S256' && /^[A-Za-z0-9_-]{43}$/.test(q.code_challenge ?? '') && q.response_type === 'code' && !!q.state && !!q.nonce;
    const cb = callbackParams[0] ?? [];
    record('authorization_code_pkce', pkceOk && cb.includes('iss') && sub === EXPECTED_SUB ? 'pass' : 'fail',
      `authorization request: response_type=${q.response_type}, code_challenge_method=${q.code_challenge_method}, scope='${q.scope}', state ${q.state ? 'sent' : 'absent'}, nonce ${q.nonce ? 'sent' : 'absent'}; ` +
        `callback carried [${cb.join(', ')}]; Apache redeemed the code (client_secret_basic + code_verifier) and opened its session`);

    const audOk = idt.aud === RP_CLIENT_ID || (Array.isArray(idt.aud) && idt.aud.includes(RP_CLIENT_ID));
    const idtOk = idt.iss === ISSUER && audOk && idt.sub === EXPECTED_SUB && typeof idt.nonce === 'string' && idt.nonce === q.nonce;
    record('id_token_validation', idtOk ? 'pass' : 'fail',
      `mod_auth_openidc accepted the id_token (${jwtHeader(first.idToken).alg}, kid ${short(facts.first_id_token_kid)}; it checks the signature against jwks_uri, iss, aud, azp, exp, iat, nonce, at_hash); ` +
        `payload it passed on: iss=${idt.iss}, aud=${JSON.stringify(idt.aud)}, sub ${idt.sub === EXPECTED_SUB ? 'is the user' : `'${idt.sub}' is not '${EXPECTED_SUB}'`}, nonce ${idt.nonce === q.nonce ? 'equal to the one sent' : 'differs'}`);

    const uiOk = ui.sub === EXPECTED_SUB && ui.sub === idt.sub && ui.email === EXPECTED_EMAIL;
    record('userinfo', uiOk ? 'pass' : 'fail',
      `mod_auth_openidc called userinfo_endpoint with the access token; claims it passed on (OIDC_userinfo_json): ${facts.userinfo_claims.join(', ') || 'none'}; sub ${ui.sub === idt.sub ? 'equals' : 'differs from'} the id_token's${ui.email === EXPECTED_EMAIL ? '' : `; email '${ui.email}' is not '${EXPECTED_EMAIL}'`}`);

    const pageOk = remoteUser === USERNAME && sub === EXPECTED_SUB && email === EXPECTED_EMAIL;
    record('rp_protected_page', pageOk ? 'pass' : 'fail',
      `Chromium: Apache /protected/ -> Candor login -> ${first.consentPage ? 'consent Allow' : 'no consent page (already granted)'} -> Apache redirect URI -> /protected/ (SSI) showing REMOTE_USER='${remoteUser}' (OIDCRemoteUserClaim preferred_username), OIDC_CLAIM_sub ${sub === EXPECTED_SUB ? 'equal to' : `'${sub}', not`} the user's sub, OIDC_CLAIM_email='${email}'; navigations: ${navigations.join(' -> ')}`);
    flush();
  }

  // 2. Refresh twice --------------------------------------------------------------------------
  // The info hook with access_token_refresh_interval=N makes mod_auth_openidc refresh when its
  // last refresh (or the login) is more than N seconds old. The second refresh must use the
  // refresh token the first one returned.
  if (first) {
    await run('refresh', ['refresh_rotation'], async () => {
      const chain = [await infoHook()];
      if (!chain[0].refresh_token) throw new Error(`no refresh token in Apache's session (info hook keys: ${Object.keys(chain[0]).join(', ')}); was offline_access granted?`);
      for (let i = 0; i < 2; i++) {
        await sleep(2100); // over the 1 s interval, and a new iat
        chain.push(await infoHook('&access_token_refresh_interval=1'));
      }
      const ats = chain.map((s) => s.access_token);
      const rts = chain.map((s) => s.refresh_token);
      const distinct = (xs) => new Set(xs).size === xs.length;
      if (!distinct(rts)) throw new Error(`mod_auth_openidc's refresh token did not change: ${rts.map(fp).join(' -> ')} (see its log for the token endpoint answer)`);
      if (!distinct(ats)) throw new Error(`mod_auth_openidc's access token did not change: ${ats.map(fp).join(' -> ')}`);
      const active = [];
      for (const rt of rts) active.push((await introspect(rt)).active);
      await page.goto(`${RP}/protected/`);
      const ru = (await page.locator('#remote-user').innerText()).trim();
      const ok = active.join() === 'false,false,true' && ru === USERNAME;
      record('refresh_rotation', ok ? 'pass' : 'fail',
        `mod_auth_openidc refreshed twice (info hook, access_token_refresh_interval=1), each time with the refresh token it held: refresh tokens ${rts.map(fp).join(' -> ')}, access tokens ${ats.map(fp).join(' -> ')}; ` +
          `Candor introspection then: active=[${active.join(', ')}] (expected [false, false, true]: rotated ones dead, the latest alive); /protected/ still serves '${ru}'. ` +
          `mod_auth_openidc never replays a used refresh token, so Candor's reuse detection is not exercised here`);
    });
    flush();
  }

  // 3. Key rotation mid-session ---------------------------------------------------------------
  const rotation = {};
  await run('keys-rotate', ['key_rotation'], async () => {
    const before = await jwksKids();
    execFileSync(CANDOR_BIN, ['--data', CANDOR_DATA, 'keys', 'rotate', '--immediately'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    const t0 = Date.now();
    let after = before;
    while (Date.now() - t0 < 25_000) {
      after = await jwksKids();
      if (after.some((k) => k.startsWith('RS256:') && !before.includes(k)) && after.some((k) => !k.startsWith('RS256:') && !before.includes(k))) break;
      await sleep(500);
    }
    rotation.newKids = after.filter((k) => !before.includes(k));
    rotation.oldKidsStillPublished = before.every((k) => after.includes(k));
    rotation.waitedMs = Date.now() - t0;
    if (!rotation.newKids.length) throw new Error(`after 'candor keys rotate' ${ISSUER}/jwks showed no new key within 25 s (kids: ${after.join(', ')})`);
    facts.rotation = rotation;
    if (first) {
      // A refresh with the pre-rotation refresh token, through mod_auth_openidc.
      const s0 = await infoHook();
      await sleep(1100);
      const s1 = await infoHook('&access_token_refresh_interval=1');
      if (s1.refresh_token === s0.refresh_token) throw new Error('mod_auth_openidc did not refresh after the rotation');
      rotation.refreshedAccessTokenKid = jwtHeader(s1.access_token).kid;
      rotation.lastRefreshToken = s1.refresh_token;
    }
  });

  // 4. Logout through Apache -------------------------------------------------------------------
  // Its redirect URI ?logout= sends the browser to Candor's end_session_endpoint with
  // id_token_hint and post_logout_redirect_uri; mod_auth_openidc also revokes its refresh and
  // access tokens at revocation_endpoint (RFC 7009).
  if (first) {
    await run('logout', ['rp_logout', 'revocation'], async () => {
      const before = await infoHook();
      const target = `${RP}/loggedout.html`;
      await page.goto(`${RP}/oidc/callback?logout=${encodeURIComponent(target)}`);
      await page.waitForURL(target);
      await page.waitForSelector('#signed-out');
      await shot('b-apache-signed-out');
      const lq = logoutRequests.length ? Object.fromEntries(new URL(logoutRequests[0]).searchParams) : {};
      const hintOk = !!lq.id_token_hint && lq.post_logout_redirect_uri === target;
      // Both sessions ended: Apache sends the browser to Candor again, and Candor asks for the password.
      await page.goto(`${RP}/protected/`);
      await page.waitForSelector('input[name=password]');
      record('rp_logout', logoutRequests.length && hintOk ? 'pass' : 'fail',
        `Apache ${shape(`${RP}/oidc/callback?logout=x`)} -> ${logoutRequests.length ? shape(logoutRequests[0]) : 'no request to Candor /logout'} ` +
          `(id_token_hint ${lq.id_token_hint ? 'sent' : 'absent'}, post_logout_redirect_uri ${lq.post_logout_redirect_uri === target ? 'the registered one' : `'${lq.post_logout_redirect_uri}'`}; mod_auth_openidc 2.4.12 sends no state) -> 303 -> ${target}; then /protected/ led to Candor's password form again (Apache and Candor sessions both ended)`);
      const rtActive = before.refresh_token ? (await introspect(before.refresh_token)).active : 'no refresh token';
      const atActive = before.access_token ? (await introspect(before.access_token)).active : 'no access token';
      record('revocation', rtActive === false && atActive === false ? 'pass' : 'fail',
        `Apache's logout posted its refresh and access token to revocation_endpoint (token_type_hint set); Candor introspection afterwards: refresh token active=${rtActive}, access token active=${atActive}`);
    });
    flush();
  }

  // 5. Sign in again after the rotation (and the logout) ---------------------------------------
  if (first && rotation.newKids) {
    await run('sign-in-after-rotation', ['key_rotation', 'rp_logout'], async () => {
      const n = authorizeRequests.length;
      const again = await signIn('c');
      const kid = jwtHeader(again.idToken).kid;
      const newKid = rotation.newKids.some((k) => k === `RS256:${kid}`);
      const atKidNew = rotation.refreshedAccessTokenKid && rotation.newKids.some((k) => k.endsWith(`:${rotation.refreshedAccessTokenKid}`));
      const ok = authorizeRequests.length > n && again.sub === EXPECTED_SUB && newKid && atKidNew && rotation.oldKidsStillPublished;
      record('key_rotation', ok ? 'pass' : 'fail',
        `'candor keys rotate' mid-session: new kids in ${ISSUER}/jwks after ${rotation.waitedMs} ms (${rotation.newKids.map((k) => `${k.split(':')[0]} ${short(k.split(':')[1])}`).join(', ')}), old ones ${rotation.oldKidsStillPublished ? 'still published' : 'GONE'}; ` +
          `mod_auth_openidc refreshed with its pre-rotation refresh token (new access token kid ${short(rotation.refreshedAccessTokenKid)}: ${atKidNew ? 'new key' : 'NOT a new key'}); ` +
          `after the logout a new login showed Candor's password form again and its id_token (kid ${short(kid)}, ${newKid ? 'the new RS256 key' : 'NOT the new RS256 key'}) was accepted by mod_auth_openidc (JWKS refetched on the unknown kid)`);
    });
    flush();
  }
} catch (e) {
  log(`crashed at step ${step}: ${e.stack}`);
  facts.crash = `step ${step}: ${e.message.split('\n')[0]}`;
} finally {
  facts.navigations = navigations;
  flush();
  if (browser) await browser.close().catch(() => {});
}
