// The peer in Candor's client_credentials benchmark: node oidc-provider 9 issuing JWT access
// tokens for one static confidential client (client_secret_basic).
//
// Environment (or --port/--alg/--client-id/--client-secret arguments):
//   PORT           port to listen on, on 127.0.0.1 (required)
//   ALG            ES256 (default) or RS256: the access-token (and id_token) signing algorithm
//   CLIENT_ID      default "bench"
//   CLIENT_SECRET  default: 43 random base64url characters (256 bits), printed at start
//
// Prints one JSON line {"ready":true,...} on stdout once it listens. Keys are generated at
// start with node:crypto: a P-256 key for ES256, a 2048-bit RSA key for RS256 (the sizes
// Candor generates), so each round signs with exactly one key of the measured algorithm.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    alg: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
  },
});

const port = Number(args.port ?? process.env.PORT);
const alg = (args.alg ?? process.env.ALG ?? 'ES256').toUpperCase();
const clientId = args['client-id'] ?? process.env.CLIENT_ID ?? 'bench';
const clientSecret = args['client-secret'] ?? process.env.CLIENT_SECRET
  ?? randomBytes(32).toString('base64url');

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('server.mjs: set PORT (or --port) to a port number');
  process.exit(2);
}

function signingJwk(algorithm) {
  const started = process.hrtime.bigint();
  let pair;
  switch (algorithm) {
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'RS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    default:
      console.error(`server.mjs: ALG must be ES256 or RS256, not '${algorithm}'`);
      process.exit(2);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.error(`server.mjs: ${algorithm} key generated in ${ms.toFixed(0)} ms`);
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `bench-${algorithm.toLowerCase()}`, alg: algorithm, use: 'sig' };
}

const issuer = `http://127.0.0.1:${port}`;
const resource = 'https://api.bench.invalid/';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // With only one key, the client's id_token alg must be one the keystore can sign.
      id_token_signed_response_alg: alg,
      scope: 'read',
    },
  ],
  jwks: { keys: [signingJwk(alg)] },
  scopes: ['openid', 'read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read',
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
});

// Nothing should be logged per request; surface server errors only.
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({
    ready: true,
    issuer,
    alg,
    client_id: clientId,
    client_secret: clientSecret,
    node: process.version,
  }));
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
