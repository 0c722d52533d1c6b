// Small helpers for run.sh (Node standard library only):
//   node tools.mjs ports N                    N free loopback TCP ports, space-separated
//   node tools.mjs get FILE KEY[.KEY]...      a field of a JSON file (strings bare, others as JSON)
//   node tools.mjs kid TOKEN                  the kid of a compact JWT
//   node tools.mjs tamper TOKEN               the same JWT with another `sub` (signature kept)
//   node tools.mjs alg-none TOKEN             the same claims, header alg "none", no signature
//   node tools.mjs graft HEADER_FROM TOKEN    TOKEN with the header of HEADER_FROM (its kid)
//   node tools.mjs assemble OUT CLIENT TSV BROWSER_JSON REASON SCENARIO...
//        writes the result file: rows of TSV (scenario<TAB>status<TAB>detail) and of
//        BROWSER_JSON's "results", merged per scenario; a scenario reported by neither is
//        failed with REASON.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const [cmd, ...args] = process.argv.slice(2);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const part = (t, i) => JSON.parse(Buffer.from(t.split('.')[i], 'base64url').toString('utf8'));

switch (cmd) {
  case 'ports': {
    const servers = [];
    for (let i = 0; i < Number(args[0]); i++) {
      const s = createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
    }
    console.log(servers.map((s) => s.address().port).join(' '));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    break;
  }
  case 'get': {
    let v = JSON.parse(readFileSync(args[0], 'utf8'));
    for (const k of args[1].split('.')) v = v?.[k];
    if (v === undefined) process.exit(1);
    console.log(typeof v === 'string' ? v : JSON.stringify(v));
    break;
  }
  case 'kid':
    console.log(part(args[0], 0).kid ?? '');
    break;
  case 'tamper': {
    const [h, , s] = args[0].split('.');
    console.log(`${h}.${b64({ ...part(args[0], 1), sub: 'mallory' })}.${s}`);
    break;
  }
  case 'alg-none': {
    const { kid, ...header } = part(args[0], 0);
    console.log(`${b64({ ...header, alg: 'none' })}.${args[0].split('.')[1]}.`);
    break;
  }
  case 'graft': {
    const [, p, s] = args[1].split('.');
    console.log(`${args[0].split('.')[0]}.${p}.${s}`);
    break;
  }
  case 'assemble': {
    const [out, client, tsv, browserJson, reason, ...scenarios] = args;
    const rows = [];
    if (existsSync(browserJson)) {
      try {
        rows.push(...JSON.parse(readFileSync(browserJson, 'utf8')).results);
      } catch (e) {
        console.error(`[apache] unreadable ${browserJson}: ${e.message}`);
      }
    }
    if (existsSync(tsv)) {
      for (const line of readFileSync(tsv, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const [scenario, status, ...detail] = line.split('\t');
        rows.push({ scenario, status, detail: detail.join(' ') });
      }
    }
    // One row per scenario: failed if any part failed, else passed if any part passed.
    const merged = new Map();
    for (const r of rows) {
      const m = merged.get(r.scenario);
      if (!m) {
        merged.set(r.scenario, { ...r });
        continue;
      }
      const rank = { fail: 2, pass: 1, 'n/a': 0 };
      if ((rank[r.status] ?? 2) > (rank[m.status] ?? 2)) m.status = r.status;
      m.detail = `${m.detail} | ${r.detail}`;
    }
    for (const s of scenarios) {
      if (!merged.has(s)) merged.set(s, { scenario: s, status: 'fail', detail: `not run: ${reason}` });
    }
    const ordered = [...scenarios.map((s) => merged.get(s)), ...[...merged.values()].filter((r) => !scenarios.includes(r.scenario))];
    const results = ordered.map((r) => ({ scenario: r.scenario, status: r.status, detail: String(r.detail).replace(/\s+/g, ' ').trim() }));
    writeFileSync(out, `${JSON.stringify({ client, results }, null, 2)}\n`);
    break;
  }
  default:
    console.error(`unknown command ${cmd}`);
    process.exit(2);
}
