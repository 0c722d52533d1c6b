// The single-page app of the browser captures: oauth4webapi (panva) in Chromium, a public client
// with PKCE, the token request made by the page itself. The mode comes from ?mode= and is kept in
// sessionStorage across the redirect; the page writes "done" into its title when it has finished.
import * as oauth from '/oauth4webapi.js';

const params = new URLSearchParams(location.search);
const issuer = new URL(params.get('issuer') ?? sessionStorage.getItem('issuer'));
const mode = params.get('mode') ?? sessionStorage.getItem('mode');
const client = { client_id: 'spa' };
const redirect = 'http://127.0.0.1:7002/cb.html';
const opts = { [oauth.allowInsecureRequests]: true };

async function server() {
  const res = await oauth.discoveryRequest(issuer, { ...opts, algorithm: sessionStorage.getItem('algorithm') ?? params.get('algorithm') ?? 'oidc' });
  return oauth.processDiscoveryResponse(issuer, res);
}

async function start() {
  sessionStorage.setItem('issuer', issuer.href);
  sessionStorage.setItem('mode', mode);
  const as = await server();
  const verifier = oauth.generateRandomCodeVerifier();
  sessionStorage.setItem('verifier', verifier);
  const state = oauth.generateRandomState();
  sessionStorage.setItem('state', state);
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', mode === 'secret_in_browser' ? 'poster' : client.client_id);
  url.searchParams.set('redirect_uri', mode === 'unregistered_redirect' ? `${redirect}/` : redirect);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid');
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  location.href = url.href;
}

async function finish() {
  const as = await server();
  const state = sessionStorage.getItem('state');
  let verifier = sessionStorage.getItem('verifier');
  // A second tab's login overwrote the verifier this tab kept.
  if (mode === 'pkce_mismatch') verifier = oauth.generateRandomCodeVerifier();
  let outcome = 'ok';
  // The user left the tab before the app went on.
  if (mode === 'expired') await new Promise((r) => setTimeout(r, 12_000));
  const tokenRedirect = mode === 'trailing_slash' ? `${redirect}/` : redirect;
  try {
    const cb = oauth.validateAuthResponse(as, client, new URL(location.href), state);
    // A confidential client's secret shipped in the page: the browser sends it.
    const [who, auth] = mode === 'secret_in_browser'
      ? [{ client_id: 'poster' }, oauth.ClientSecretPost('corpus-poster-secret-0002-not-real')]
      : [client, oauth.None()];
    const res = await oauth.authorizationCodeGrantRequest(as, who, auth, cb, tokenRedirect, verifier, opts);
    await oauth.processAuthorizationCodeResponse(as, client, res);
    if (mode === 'reuse') {
      const again = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), cb, redirect, verifier, opts);
      await oauth.processAuthorizationCodeResponse(as, client, again);
    }
  } catch (err) {
    outcome = `refused ${err.error ?? err.code ?? err.name}`;
  }
  document.title = `done ${outcome}`;
}

(location.pathname.endsWith('/cb.html') ? finish() : start()).catch((err) => {
  document.title = `done error ${err}`;
});
