// node oidc-provider 9 as the provider of the corpus captures: the provider nobody on the team
// wrote, configured as its documentation shows, with an interaction handler that logs "alice" in
// and consents at once (the doctor's subject is the protocol, not the login page).
//
// Environment:
//   PORT     port to listen on, 127.0.0.1 (required)
//   ISSUER   the issuer URL clients see (default http://127.0.0.1:PORT); a capture made through
//            mitmproxy's reverse mode names the proxy here
//   CODE_TTL seconds an authorization code lives (default 60); the expired-code captures use 5
//
// The clients and secrets are throwaway test values, in the corpus on purpose: the doctor must
// never print them.

import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER ?? `http://127.0.0.1:${port}`;
const codeTtl = Number(process.env.CODE_TTL ?? 60);

export const CLIENTS = [
  {
    client_id: 'web',
    client_secret: 'corpus-web-secret-0001-not-real',
    redirect_uris: ['http://127.0.0.1:7001/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'poster',
    client_secret: 'corpus-poster-secret-0002-not-real',
    // Also the SPA's: the capture where a confidential client's secret ships in the page.
    redirect_uris: ['http://127.0.0.1:7001/cb', 'http://127.0.0.1:7002/cb.html'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    client_id: 'spa',
    redirect_uris: ['http://127.0.0.1:7002/cb.html'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
  },
];

const provider = new Provider(issuer, {
  clients: CLIENTS,
  cookies: { keys: ['corpus-cookie-key-not-real'] },
  // The corpus runs on loopback http; the interaction below replaces the dev login form.
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: (ctx, client) => client.clientAuthMethod === 'none' },
  ttl: { AuthorizationCode: codeTtl },
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id, email: `${id}@example.test`, name: id }; } };
  },
});
provider.proxy = true;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: 'alice' } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const d = details.prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  callback(req, res);
}).listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, issuer }));
});
