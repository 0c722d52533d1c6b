// Shared helpers for the Node interop runners (openid-client and Chromium): the environment
// set by interop/run.sh, the candor CLI, a cookie-jar fetch that walks Candor's login and
// consent pages, and a results file written after every scenario.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through interop/run.sh (see interop/README.md)`);
  return v;
}

export const CANDOR_BIN = env('CANDOR_BIN');
export const CANDOR_DATA = env('CANDOR_DATA');
export const ISSUER = env('CANDOR_ISSUER');
export const RESULTS_DIR = env('RESULTS_DIR');
mkdirSync(RESULTS_DIR, { recursive: true });

export const log = (...a) => console.log('[node]', ...a);

/** Runs `candor --data $CANDOR_DATA ARGS...`, returns its stdout parsed as JSON when it is. */
export function candor(args, input) {
  const out = execFileSync(CANDOR_BIN, ['--data', CANDOR_DATA, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  try {
    return JSON.parse(out);
  } catch {
    return out;
  }
}

/** A throwaway value: random, visibly not a real credential. */
export const throwaway = (prefix) => `${prefix}-throwaway-${randomBytes(9).toString('base64url')}`;

/** Registers a client with the CLI. `opts`: { redirectUris, postLogoutRedirectUris, scope, authMethod, public }. */
export function createClient(clientId, opts = {}) {
  const args = ['client', 'create', '--name', clientId, '--client-id', clientId];
  for (const u of opts.redirectUris ?? []) args.push('--redirect-uri', u);
  for (const u of opts.postLogoutRedirectUris ?? []) args.push('--post-logout-redirect-uri', u);
  if (opts.scope) args.push('--scope', opts.scope);
  if (opts.public) args.push('--public');
  if (opts.authMethod) args.push('--auth-method', opts.authMethod);
  return candor(args);
}

export function createUser(username, password, email, name) {
  return candor(['user', 'create', '--username', username, '--password-stdin', '--email', email, '--name', name], `${password}\n`);
}

// ---------------------------------------------------------------------------------------------
// A browser stand-in: fetch with a cookie jar (one host, so name=value is enough), no redirects
// followed, and a walker through Candor's login and consent forms.

export class Browser {
  constructor() {
    this.cookies = new Map();
    this.trace = []; // "METHOD url -> status" lines, for failure details
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a) || /^\s*expires\s*=.*1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    this.trace.push(`${init.method ?? 'GET'} ${String(url).split('?')[0]} -> ${res.status}`);
    return res;
  }

  /**
   * Opens `authorizeUrl` and answers Candor's pages (login with username/password, consent
   * with `consent`) until a redirect to `redirectUri`; returns that URL. `decide` may be
   * 'allow' or 'deny'. `seen` collects which pages were shown ('login', 'consent').
   */
  async authorize(authorizeUrl, { username, password, redirectUri, decide = 'allow', seen = [] }) {
    let res = await this.fetch(authorizeUrl);
    for (let step = 0; step < 8; step++) {
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        const location = new URL(res.headers.get('location'), res.url || authorizeUrl);
        if (location.href.startsWith(redirectUri)) return location;
        res = await this.fetch(location);
        continue;
      }
      const body = await res.text();
      if (res.status !== 200) {
        throw new Error(`authorization flow: unexpected HTTP ${res.status} from ${res.url}: ${body.slice(0, 400)}`);
      }
      const form = parseForm(body);
      if (!form) throw new Error(`authorization flow: page without a form at ${res.url}: ${body.slice(0, 400)}`);
      const action = new URL(form.action || res.url, res.url);
      const fields = new URLSearchParams(form.hidden);
      if (form.inputs.includes('password')) {
        if (seen.includes('login')) throw new Error(`login refused: ${errorText(body)}`);
        seen.push('login');
        fields.set('username', username);
        fields.set('password', password);
      } else if (form.buttons.some((b) => b.name === 'consent')) {
        seen.push('consent');
        fields.set('consent', decide);
      } else {
        throw new Error(`authorization flow: unrecognised form at ${res.url}: ${body.slice(0, 400)}`);
      }
      res = await this.fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
      });
    }
    throw new Error(`authorization flow did not reach ${redirectUri}: ${this.trace.join(', ')}`);
  }
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? decodeEntities(m[2] ?? m[3] ?? m[4]) : undefined;
}

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The first form of an HTML page: action, hidden fields, visible input names, buttons. */
export function parseForm(html) {
  const m = html.match(/<form\b[^>]*>[\s\S]*?<\/form>/i);
  if (!m) return null;
  const formTag = m[0].match(/<form\b[^>]*>/i)[0];
  const hidden = [];
  const inputs = [];
  for (const tag of m[0].match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(tag, 'name');
    if (!name) continue;
    if ((attr(tag, 'type') ?? 'text').toLowerCase() === 'hidden') hidden.push([name, attr(tag, 'value') ?? '']);
    else inputs.push(name);
  }
  const buttons = (m[0].match(/<button\b[^>]*>/gi) ?? []).map((t) => ({ name: attr(t, 'name'), value: attr(t, 'value') }));
  return { action: attr(formTag, 'action'), hidden, inputs, buttons };
}

function errorText(html) {
  const m = html.match(/role="alert"[^>]*>([^<]*)</);
  return m ? decodeEntities(m[1]) : 'no error message on the page';
}

// ---------------------------------------------------------------------------------------------
// Results: { client, results: [{scenario, status, detail}] }, rewritten after every scenario so
// that a crash still leaves what ran.

export class Results {
  constructor(file, client) {
    this.path = join(RESULTS_DIR, file);
    this.doc = { client, results: [] };
    this.state = new Map(); // scenario -> status
    this.write();
  }

  write() {
    writeFileSync(this.path, `${JSON.stringify(this.doc, null, 2)}\n`);
  }

  record(scenario, status, detail) {
    this.doc.results.push({ scenario, status, detail });
    this.state.set(scenario, status);
    this.write();
    const mark = status === 'pass' ? 'ok  ' : status === 'n/a' ? 'n/a ' : 'FAIL';
    console.log(`[${this.doc.client}] ${mark} ${scenario}: ${detail}`);
  }

  /**
   * Runs one scenario: `fn` returns the detail text on success and throws on failure.
   * `needs` lists scenarios whose success it relies on: if one did not pass, the scenario is
   * recorded as failed ("blocked") without running.
   */
  async run(scenario, needs, fn) {
    const blocked = needs.filter((n) => this.state.get(n) !== 'pass');
    if (blocked.length) {
      this.record(scenario, 'fail', `not run: needs ${blocked.join(', ')}, which did not pass`);
      return;
    }
    const started = Date.now();
    try {
      const detail = await fn();
      this.record(scenario, 'pass', `${detail} (${Date.now() - started} ms)`);
    } catch (err) {
      this.record(scenario, 'fail', describeError(err));
      if (process.env.INTEROP_DEBUG) console.error(err);
    }
  }
}

/** One line naming an error as openid-client reports it. */
export function describeError(err) {
  if (!(err instanceof Error)) return String(err);
  const parts = [`${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`];
  if (err.error) parts.push(`error=${err.error}`);
  if (err.error_description) parts.push(`error_description=${err.error_description}`);
  if (err.status) parts.push(`HTTP ${err.status}`);
  if (err.cause && !(err.cause instanceof URLSearchParams)) {
    try {
      const c = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : JSON.stringify(err.cause);
      parts.push(`cause: ${c.slice(0, 300)}`);
    } catch {
      /* ignore */
    }
  }
  return parts.join('; ');
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Decodes a JWS's protected header and payload (no verification). */
export function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}
