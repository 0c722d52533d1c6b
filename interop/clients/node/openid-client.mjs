// The openid-client 6 runner: every scenario of interop/README.md against the Candor at
// $CANDOR_ISSUER, through openid-client's own APIs. Writes $RESULTS_DIR/node.json.
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import {
  ISSUER, Browser, Results, assert, candor, createClient, createUser, decodeJwt, describeError, log, sleep, throwaway,
} from './lib.mjs';

const VERSION = JSON.parse(readFileSync(new URL('./node_modules/openid-client/package.json', import.meta.url))).version;
const results = new Results('node.json', `node openid-client ${VERSION}`);

// Every HTTP exchange openid-client makes, so that a failure can say what went over the wire.
const exchanges = [];
async function recordingFetch(url, options) {
  const res = await fetch(url, options);
  let body = '';
  if (res.status >= 400) body = await res.clone().text();
  exchanges.push({ method: options?.method ?? 'GET', url: String(url), status: res.status, body: body.slice(0, 500) });
  return res;
}
const lastExchange = () => {
  const x = exchanges.at(-1);
  return x ? `${x.method} ${x.url} -> ${x.status}${x.body ? ` ${x.body}` : ''}` : 'no request';
};

const insecure = { execute: [client.allowInsecureRequests], [client.customFetch]: recordingFetch };
const SCOPE = 'openid profile email offline_access';
const REDIRECT_URI = 'http://127.0.0.1/node-openid-client/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1/node-openid-client/signed-out';

// --- registrations (unique names: prefixed with "node-") ------------------------------------
const web = createClient('node-web', { redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [POST_LOGOUT_URI], scope: SCOPE });
const webPost = createClient('node-web-post', { redirectUris: [REDIRECT_URI], scope: SCOPE, authMethod: 'client_secret_post' });
const service = createClient('node-service', { scope: 'node:read node:write' });
const user = { username: 'node-alice', password: throwaway('pw'), email: 'node-alice@example.com', name: 'Node Alice' };
const created = createUser(user.username, user.password, user.email, user.name);
log(`registered node-web, node-web-post, node-service and user ${user.username} (sub ${created.sub})`);

async function discover(id, secret, auth = client.ClientSecretBasic(secret)) {
  return client.discovery(new URL(ISSUER), id, { client_secret: secret }, auth, insecure);
}

/** One authorization-code login through openid-client: returns { tokens, claims, callback, verifier }. */
async function login(config, { browser = new Browser(), seen = [], extra = {} } = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const callback = await browser.authorize(url, { ...user, redirectUri: REDIRECT_URI, seen });
  return { callback, verifier, state, nonce, browser };
}

async function redeem(config, flow, verifier = flow.verifier) {
  const tokens = await client.authorizationCodeGrant(config, flow.callback, {
    pkceCodeVerifier: verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  });
  return tokens;
}

/**
 * Runs `fn`, which must throw an openid-client error carrying Candor's `error` (=== expected)
 * and a non-empty `error_description`. Returns a sentence naming where openid-client put them.
 */
async function expectOAuthError(fn, expected, diagnosis) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert(err, `expected an '${expected}' error, but the request succeeded`);
  let body;
  let via;
  if (err instanceof client.ResponseBodyError) {
    body = { error: err.error, error_description: err.error_description, ...err.cause };
    via = `ResponseBodyError (HTTP ${err.status}) .error/.error_description`;
  } else if (err instanceof client.WWWAuthenticateChallengeError) {
    // openid-client stops at the challenge and hands over the unread response.
    const params = err.cause?.[0]?.parameters ?? {};
    if (params.error && params.error_description) {
      body = params;
      via = `WWWAuthenticateChallengeError (HTTP ${err.status}) challenge parameters`;
    } else {
      body = await err.response.json();
      via = `WWWAuthenticateChallengeError (HTTP ${err.status}, challenge '${err.cause.map((c) => c.scheme).join(', ')}'), JSON body of its .response`;
    }
  } else {
    throw new Error(`expected ResponseBodyError with error '${expected}', got ${describeError(err)}`);
  }
  assert(body.error === expected, `expected error '${expected}', got '${body.error}' (${body.error_description})`);
  assert(typeof body.error_description === 'string' && body.error_description.length > 0, `no error_description with '${body.error}'`);
  if (diagnosis) assert(body.diagnosis === diagnosis, `expected diagnosis '${diagnosis}', got '${body.diagnosis}'`);
  return `${via}: error='${body.error}' error_description='${body.error_description}' diagnosis='${body.diagnosis}'`;
}

const s = {}; // state shared between scenarios

await results.run('discovery', [], async () => {
  s.config = await discover(web.client_id, web.client_secret);
  // Validate id_token signatures against the JWKS too (openid-client skips that by default
  // for id_tokens received from the token endpoint over a direct connection).
  client.enableNonRepudiationChecks(s.config);
  const m = s.config.serverMetadata();
  assert(m.issuer === ISSUER, `issuer '${m.issuer}' differs from '${ISSUER}'`);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    assert(typeof m[k] === 'string', `metadata has no ${k}`);
  }
  assert(m.code_challenge_methods_supported?.includes('S256'), 'code_challenge_methods_supported lacks S256');
  assert(s.config.serverMetadata().supportsPKCE(), 'openid-client does not see PKCE support');
  return `issuer ${m.issuer}; ${Object.keys(m).length} metadata fields; S256 PKCE; authorization_response_iss_parameter_supported=${m.authorization_response_iss_parameter_supported}`;
});

await results.run('client_credentials', ['discovery'], async () => {
  const config = await discover(service.client_id, service.client_secret);
  const t = await client.clientCredentialsGrant(config, { scope: 'node:read' });
  assert(t.access_token, 'no access_token');
  assert(t.token_type === 'bearer', `token_type '${t.token_type}'`);
  assert(t.scope === 'node:read', `scope '${t.scope}', expected 'node:read'`);
  assert(t.expiresIn() > 0, 'no expires_in');
  const { header, payload } = decodeJwt(t.access_token);
  assert(payload.sub === service.client_id && payload.iss === ISSUER, `access token sub '${payload.sub}' iss '${payload.iss}'`);
  return `access token (${header.typ}, ${header.alg}) for '${payload.sub}', scope '${t.scope}', expires_in ${t.expires_in}`;
});

await results.run('authorization_code_pkce', ['discovery'], async () => {
  const seen = [];
  s.flow = await login(s.config, { seen });
  assert(s.flow.callback.searchParams.get('iss') === ISSUER, `callback iss '${s.flow.callback.searchParams.get('iss')}'`);
  s.tokens = await redeem(s.config, s.flow);
  assert(s.tokens.access_token && s.tokens.refresh_token && s.tokens.id_token, `missing tokens: ${Object.keys(s.tokens)}`);
  assert(s.tokens.scope?.split(' ').includes('openid'), `scope '${s.tokens.scope}'`);
  return `pages ${seen.join(' -> ')}, callback with code, state and iss; tokens: ${Object.keys(s.tokens).filter((k) => typeof s.tokens[k] !== 'function').join(', ')}`;
});

await results.run('id_token_validation', ['authorization_code_pkce'], async () => {
  // authorizationCodeGrant already validated iss, aud, exp, iat, nonce and (non-repudiation
  // checks) the signature against the JWKS; check the claims it hands back.
  const c = s.tokens.claims();
  const { header } = decodeJwt(s.tokens.id_token);
  assert(c.iss === ISSUER, `iss '${c.iss}'`);
  assert(c.aud === web.client_id || (Array.isArray(c.aud) && c.aud.includes(web.client_id)), `aud '${c.aud}'`);
  assert(c.nonce === s.flow.nonce, 'nonce differs');
  assert(c.sub === created.sub, `sub '${c.sub}', expected '${created.sub}'`);
  assert(c.exp > Date.now() / 1000, 'expired');
  assert(header.alg === 'RS256', `alg '${header.alg}' (the client expects the default RS256)`);
  const jwks = await (await fetch(s.config.serverMetadata().jwks_uri)).json();
  assert(jwks.keys.some((k) => k.kid === header.kid), `kid '${header.kid}' not in the JWKS`);
  return `signature (RS256, kid ${header.kid.slice(0, 12)}…), iss, aud, exp, iat, nonce validated by openid-client; sub ${c.sub}${c.at_hash ? ', at_hash present' : ''}${c.auth_time ? ', auth_time present' : ''}`;
});

await results.run('userinfo', ['authorization_code_pkce'], async () => {
  const sub = s.tokens.claims().sub;
  const info = await client.fetchUserInfo(s.config, s.tokens.access_token, sub);
  assert(info.sub === sub, 'sub differs');
  assert(info.email === user.email, `email '${info.email}'`);
  assert(info.name === user.name, `name '${info.name}'`);
  return `claims ${Object.keys(info).sort().join(', ')}`;
});

await results.run('introspection', ['authorization_code_pkce'], async () => {
  const at = await client.tokenIntrospection(s.config, s.tokens.access_token);
  assert(at.active === true, `access token inactive: ${JSON.stringify(at)}`);
  assert(at.client_id === web.client_id && at.sub === created.sub, `client_id '${at.client_id}' sub '${at.sub}'`);
  assert(at.scope?.split(' ').includes('openid'), `scope '${at.scope}'`);
  const rt = await client.tokenIntrospection(s.config, s.tokens.refresh_token);
  assert(rt.active === true, `refresh token inactive: ${JSON.stringify(rt)}`);
  const junk = await client.tokenIntrospection(s.config, 'not-a-token');
  assert(junk.active === false, `junk token: ${JSON.stringify(junk)}`);
  return `access token active (${Object.keys(at).sort().join(', ')}), refresh token active, junk inactive`;
});

await results.run('refresh_rotation', ['authorization_code_pkce'], async () => {
  const flow = await login(s.config);
  const first = await redeem(s.config, flow);
  const rt1 = first.refresh_token;
  const second = await client.refreshTokenGrant(s.config, rt1);
  const rt2 = second.refresh_token;
  assert(rt2 && rt2 !== rt1, 'the refresh token was not rotated');
  assert(second.access_token && second.access_token !== first.access_token, 'no new access token');
  if (second.id_token) assert(second.claims().sub === first.claims().sub, 'refreshed id_token has another sub');
  const third = await client.refreshTokenGrant(s.config, rt2);
  assert(third.refresh_token && third.refresh_token !== rt2, 'second refresh did not rotate');
  // Replaying a rotated refresh token is refused. Candor allows a 2 s grace for two requests
  // racing with the same token (the replay is refused, the family kept); after that a replay
  // means the token leaked and revokes the whole family (RFC 9700 §4.14).
  const racing = await expectOAuthError(() => client.refreshTokenGrant(s.config, rt2), 'invalid_grant', 'refresh_token.reused');
  const kept = await client.tokenIntrospection(s.config, third.refresh_token);
  assert(kept.active === true, 'an immediate replay (within the race grace) revoked the family');
  await sleep(3_200); // Candor compares whole seconds: the 2 s grace lasts up to 3 s
  const replay = await expectOAuthError(() => client.refreshTokenGrant(s.config, rt1), 'invalid_grant', 'refresh_token.reused');
  const after = await client.tokenIntrospection(s.config, third.refresh_token);
  assert(after.active === false, 'the newest refresh token of the family is still active after a replay');
  const familyRefused = await expectOAuthError(() => client.refreshTokenGrant(s.config, third.refresh_token), 'invalid_grant');
  return `rotated twice${second.id_token ? ' (new id_token validated)' : ''}; immediate replay refused, family kept (race grace): ${racing}; replay 3.2 s later: ${replay}; family revoked: newest token inactive, its refresh refused: ${familyRefused}`;
});

await results.run('revocation', ['authorization_code_pkce'], async () => {
  const flow = await login(s.config);
  const t = await redeem(s.config, flow);
  await client.tokenRevocation(s.config, t.refresh_token);
  const rt = await client.tokenIntrospection(s.config, t.refresh_token);
  assert(rt.active === false, 'refresh token still active after revocation');
  const refused = await expectOAuthError(() => client.refreshTokenGrant(s.config, t.refresh_token), 'invalid_grant');
  await client.tokenRevocation(s.config, t.access_token);
  const at = await client.tokenIntrospection(s.config, t.access_token);
  assert(at.active === false, 'access token still active after revocation');
  await client.tokenRevocation(s.config, 'unknown-token'); // RFC 7009 §2.2: 200 for unknown tokens
  return `refresh token revoked (introspection inactive; refresh refused: ${refused}); access token revoked (introspection inactive); unknown token accepted`;
});

await results.run('rp_logout', ['authorization_code_pkce'], async () => {
  const browser = new Browser();
  const flow = await login(s.config, { browser });
  const t = await redeem(s.config, flow);
  // The session exists: another authorization request in this browser skips the login page.
  const before = [];
  await login(s.config, { browser, seen: before });
  assert(!before.includes('login'), `a second authorization in the same browser showed ${before.join(' -> ')}: no session to log out of`);
  const state = client.randomState();
  const url = client.buildEndSessionUrl(s.config, {
    id_token_hint: t.id_token,
    post_logout_redirect_uri: POST_LOGOUT_URI,
    state,
  });
  const res = await browser.fetch(url);
  assert(res.status === 303, `end_session answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const back = new URL(res.headers.get('location'));
  assert(back.origin + back.pathname === POST_LOGOUT_URI, `redirected to ${back}`);
  assert(back.searchParams.get('state') === state, `state '${back.searchParams.get('state')}'`);
  // The session is gone: a new authorization request shows the login page again.
  const seen = [];
  await login(s.config, { browser, seen });
  assert(seen[0] === 'login', `after logout the authorization request showed ${seen.join(' -> ')}, expected the login page`);
  return `session skipped the login page before; 303 to ${back.origin}${back.pathname} with state; session ended (next authorization asked to log in again)`;
});

await results.run('error_replayed_code', ['authorization_code_pkce'], async () => {
  const flow = await login(s.config);
  const first = await redeem(s.config, flow);
  const detail = await expectOAuthError(() => redeem(s.config, flow), 'invalid_grant', 'code.reused');
  // RFC 6749 §4.1.2: tokens issued from a replayed code should be revoked.
  const at = await client.tokenIntrospection(s.config, first.access_token);
  const rt = await client.tokenIntrospection(s.config, first.refresh_token);
  assert(at.active === false && rt.active === false, `tokens from the replayed code still active: access ${at.active}, refresh ${rt.active}`);
  return `${detail}; tokens from the first redemption revoked`;
});

await results.run('error_wrong_pkce_verifier', ['authorization_code_pkce'], async () => {
  const flow = await login(s.config);
  return expectOAuthError(() => redeem(s.config, flow, client.randomPKCECodeVerifier()), 'invalid_grant', 'pkce.verifier_mismatch');
});

await results.run('error_wrong_client_secret', ['discovery'], async () => {
  const wrong = throwaway('wrong-secret');
  const basic = await discover(service.client_id, wrong);
  const viaBasic = await expectOAuthError(() => client.clientCredentialsGrant(basic), 'invalid_client', 'client_auth.secret_mismatch');
  const post = await discover(webPost.client_id, wrong, client.ClientSecretPost(wrong));
  const flow = await login(post);
  const viaPost = await expectOAuthError(() => redeem(post, flow), 'invalid_client', 'client_auth.secret_mismatch');
  return `client_secret_basic: ${viaBasic}; client_secret_post (code redemption): ${viaPost}`;
});

// Last: the rotation leaves s.config with a JWKS cache that may not know the new keys.
await results.run('key_rotation', ['authorization_code_pkce'], async () => {
  // Candor publishes the next key before it signs with it (here 30 s ahead, by default 2 min),
  // because openid-client refetches a JWKS for an unknown kid only when its copy is at least
  // 60 s old. This checks exactly that: a client whose JWKS was fetched after the rotation was
  // announced, and less than 60 s before the switch, validates tokens of the new key.
  const before = await redeem(s.config, await login(s.config));
  const oldKid = decodeJwt(before.id_token).header.kid;
  const jwksUri = s.config.serverMetadata().jwks_uri;
  const kidsBefore = new Set((await (await fetch(jwksUri)).json()).keys.map((k) => k.kid));
  const rotatedAt = Date.now();
  candor(['keys', 'rotate', '--activate-in', '30s']);
  await sleep(11_000); // running servers pick new keys up within 10 s
  const jwks = (await (await fetch(jwksUri)).json()).keys.map((k) => k.kid);
  const added = jwks.filter((k) => !kidsBefore.has(k));
  assert(added.length > 0, `the JWKS shows no new key 11 s after 'candor keys rotate' (${jwks.length} keys)`);
  // A client configured now caches the JWKS with the announced key; the old key still signs.
  const cfg = await discover(web.client_id, web.client_secret);
  client.enableNonRepudiationChecks(cfg);
  const mid = await redeem(cfg, await login(cfg));
  const midKid = decodeJwt(mid.id_token).header.kid;
  assert(midKid === oldKid, `before activation the previous key should sign, got kid ${midKid.slice(0, 8)}…`);
  const cachedAt = Date.now();
  // After activation (30 s) and the servers' reload (<= 10 s).
  await sleep(Math.max(0, rotatedAt + 42_000 - Date.now()));
  let after;
  try {
    after = await redeem(cfg, await login(cfg));
  } catch (e) {
    throw new Error(`a client whose JWKS is ${Math.round((Date.now() - cachedAt) / 1000)} s old (fetched after the rotation was announced) refused a new-key id_token: ${describeError(e)}`);
  }
  const newKid = decodeJwt(after.id_token).header.kid;
  assert(added.includes(newKid), `after activation, expected a new kid (${added.map((k) => k.slice(0, 8)).join(', ')}), got ${newKid.slice(0, 8)}…`);
  // The session from before the rotation keeps working: its refresh token is still good. (With
  // cfg: s.config fetched its JWKS before the announcement, less than 60 s before this test's
  // 30 s switch; with the default 2 minutes such a client would refetch in time.)
  const refreshed = await client.refreshTokenGrant(cfg, before.refresh_token);
  assert(jwks.includes(oldKid), `the retired key ${oldKid.slice(0, 8)}… left the JWKS too early`);
  return `rotated ${oldKid.slice(0, 8)}… -> ${newKid.slice(0, 8)}… (published 30 s ahead); a client whose JWKS was ${Math.round((Date.now() - cachedAt) / 1000)} s old validated the new key without refetching; the pre-rotation session refreshed${refreshed.id_token ? ` (kid ${decodeJwt(refreshed.id_token).header.kid.slice(0, 8)}…)` : ''}; the retired key stays published`;
});

log(`done; last HTTP exchange: ${lastExchange()}`);
