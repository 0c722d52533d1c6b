// A client written with openid-client 6 (panva): discovery, PKCE S256, the authorization URL,
// authorizationCodeGrant. Its requests go through the HTTP proxy in HTTP_PROXY (mitmdump), by
// openid-client's customFetch and undici's ProxyAgent. MODE (argv[2]) picks the mistake.

import { setTimeout as sleep } from 'node:timers/promises';

import * as oidc from 'openid-client';
import { fetch as undiciFetch, ProxyAgent } from 'undici';

const mode = process.argv[2];
const issuer = new URL(process.env.ISSUER);
const clientId = process.env.CLIENT ?? 'web';
const secret = mode === 'wrong_secret' ? 'corpus-wrong-secret-not-real' : process.env.SECRET;
const redirect = 'http://127.0.0.1:7001/cb';
const dispatcher = process.env.HTTP_PROXY ? new ProxyAgent(process.env.HTTP_PROXY) : undefined;
const viaProxy = (url, options) => undiciFetch(url, { ...options, dispatcher });

const auth = clientId === 'poster' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
let config = await oidc.discovery(issuer, clientId, undefined, auth, {
  execute: [oidc.allowInsecureRequests],
  [oidc.customFetch]: viaProxy,
  // Authlib serves RFC 8414 metadata, not OpenID Connect discovery.
  algorithm: process.env.DISCOVERY === 'oauth' ? 'oauth2' : 'oidc',
});
if (mode === 'wrong_endpoint') {
  const meta = { ...config.serverMetadata(), token_endpoint: new URL('/oauth/token', issuer).href };
  config = new oidc.Configuration(meta, clientId, undefined, auth);
  oidc.allowInsecureRequests(config);
}
config[oidc.customFetch] = viaProxy;

let verifier = oidc.randomPKCECodeVerifier();
const state = oidc.randomState();
const url = oidc.buildAuthorizationUrl(config, {
  redirect_uri: redirect,
  scope: 'openid email',
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
});

// The front channel: follow redirects with a cookie jar until one lands on the redirect_uri.
const jar = new Map();
let next = url.href;
let callback;
for (let i = 0; i < 10 && !callback; i += 1) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await undiciFetch(next, { redirect: 'manual', dispatcher, headers: cookie ? { cookie } : {} });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const loc = res.headers.get('location');
  await res.arrayBuffer();
  if (!loc) break;
  next = new URL(loc, next).href;
  if (next.startsWith(redirect)) callback = new URL(next);
}
if (!callback) {
  console.error('no callback');
  process.exit(0);
}
if (mode === 'expired') await sleep(12_000);
if (mode === 'pkce_mismatch') verifier = oidc.randomPKCECodeVerifier();
const extra = mode === 'trailing_slash' ? { redirect_uri: `${redirect}/` } : undefined;
for (let i = 0; i < (mode === 'reuse' ? 2 : 1); i += 1) {
  try {
    await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, extra);
    console.error('token ok');
  } catch (err) {
    console.error('token refused:', err.code ?? err.name);
  }
}
