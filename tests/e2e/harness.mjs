// End-to-end harness: a throwaway database in the test cluster, a real a51d on
// a free port, a small synthetic region loaded through the API (as make demo
// does), tokens of each kind, and Chromium driven by playwright-core.
//
// Environment (set by meson, see tests/meson.build):
//   A51D_BIN, A51_SOURCE_ROOT, A51_TEST_PGHOST/PGPORT/PGUSER, A51_TEST_LOGDIR,
//   A51_E2E_ARTEFACTS (screenshots), A51_CHROMIUM (default /usr/bin/chromium).
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SKIP = 77; // meson: the test was skipped

const env = (name, dflt) => process.env[name] || dflt;
const root = env('A51_SOURCE_ROOT', path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..'));
const chromiumPath = env('A51_CHROMIUM', '/usr/bin/chromium');

export function log(...args) {
  console.log(`[${((performance.now()) / 1000).toFixed(1)} s]`, ...args);
}

// playwright-core from the repository's pinned node_modules (scripts/node-tools.sh).
export function loadPlaywright() {
  const require = createRequire(path.join(root, 'package.json'));
  try {
    return require('playwright-core');
  } catch {
    return null;
  }
}

export function prerequisites() {
  const missing = [];
  if (!fs.existsSync(chromiumPath)) missing.push(`${chromiumPath} (apt-get install chromium; scripts/deps.sh test)`);
  if (!loadPlaywright()) missing.push('playwright-core in node_modules (scripts/node-tools.sh)');
  return missing;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function psql(sql) {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', env('A51_TEST_PGHOST', '/tmp'), '-p', env('A51_TEST_PGPORT', '5432'),
    '-U', env('A51_TEST_PGUSER', 'a51'), '-d', 'postgres', '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A JSON call to the API (for setting up, and for the values the pages must show).
export async function call(base, token, method, urlPath, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text.slice(0, 500)}`);
  return json;
}

export async function startWorld() {
  const world = { cleanups: [] };
  const a51d = env('A51D_BIN', path.join(root, 'build', 'a51d'));
  const tag = `a51_e2e_${process.pid}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'a51-e2e-'));
  world.cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));

  psql(`DROP DATABASE IF EXISTS "${tag}"`);
  psql(`CREATE DATABASE "${tag}"`);
  world.cleanups.push(() => psql(`DROP DATABASE IF EXISTS "${tag}" WITH (FORCE)`));
  const dbUrl = `postgresql:///${tag}?host=${encodeURIComponent(env('A51_TEST_PGHOST', '/tmp'))}&port=${env('A51_TEST_PGPORT', '5432')}&user=${env('A51_TEST_PGUSER', 'a51')}`;
  const childEnv = { ...process.env, A51_DATABASE_URL: dbUrl, A51_MODE: 'test' };

  const data = path.join(work, 'data');
  execFileSync(a51d, ['synth', '--patients', '4000', '--structures', '6', '--year', '2024', '--years', '2',
    '--reference', '8000', '--seed', '5', '--out', data], { env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  log('synthetic region written');

  const port = await freePort();
  const logDir = env('A51_TEST_LOGDIR', work);
  fs.mkdirSync(logDir, { recursive: true });
  world.log = path.join(logDir, `e2e-a51d-${process.pid}.log`);
  const out = fs.openSync(world.log, 'a');
  const srv = spawn(a51d, ['serve'], { env: { ...childEnv, A51_LISTEN: `127.0.0.1:${port}`, A51_SHUTDOWN_GRACE: '5' }, stdio: ['ignore', out, out] });
  srv.on('exit', (code, signal) => {
    if (!world.stopping) log(`a51d exited during the test (status ${code}, signal ${signal}); see ${world.log}`);
  });
  // SIGTERM, then its exit status: a51d must stop cleanly (under the
  // sanitizers, a leak or an error report makes it exit non-zero).
  world.stopServer = async () => {
    world.stopping = true;
    if (srv.exitCode === null && srv.signalCode === null) {
      srv.kill('SIGTERM');
      for (let i = 0; i < 300 && srv.exitCode === null && srv.signalCode === null; i++) await sleep(50);
      if (srv.exitCode === null && srv.signalCode === null) srv.kill('SIGKILL');
      await sleep(50);
    }
    return srv.exitCode;
  };
  world.cleanups.push(world.stopServer);
  world.base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (srv.exitCode !== null) throw new Error(`a51d exited during start-up; see ${world.log}`);
    try {
      if ((await fetch(world.base + '/healthz')).ok) break;
    } catch { /* not yet */ }
    if (i > 200) throw new Error(`a51d did not start; see ${world.log}`);
    await sleep(50);
  }
  world.national = execFileSync(a51d, ['token', 'create', '--name', 'e2e', '--scope', 'national'], { env: childEnv }).toString().trim();
  log('a51d up on', world.base);

  execFileSync('python3', [path.join(root, 'scripts', 'load-demo.py'), world.base, world.national, data], { stdio: ['ignore', 'ignore', 'inherit'] });
  log('demo data loaded through the API');
  return meet(world);
}

// An a51d already running with the same synthetic region (developing the tests).
export async function attachWorld(base, national) {
  return meet({ cleanups: [], base, national });
}

// The structures the steps use, found by name, and a token of each kind.
async function meet(world) {
  const all = (await call(world.base, world.national, 'GET', '/v1/structures?limit=100')).items;
  const byName = (name) => {
    const s = all.find((x) => x.name === name);
    if (!s) throw new Error(`no structure named ${name}: is the synthetic region loaded?`);
    return s;
  };
  world.structure = byName('Maison de santé des Coteaux 1'); // a team enrolled in PEPS
  world.other = byName('Maison de santé des Coteaux 4');
  world.hospital = byName('Centre hospitalier 6'); // enrolled in EDS
  world.region = world.structure.region;
  const token = async (scope, write) => (await call(world.base, world.national, 'POST', '/v1/tokens', { name: 'e2e ' + scope, scope, write })).token;
  world.structureToken = await token('structure:' + world.structure.id, true);
  world.hospitalToken = await token('structure:' + world.hospital.id, true);
  world.arsToken = await token('ars:' + world.region, false);
  return world;
}

export async function stopWorld(world) {
  for (const fn of (world?.cleanups || []).reverse()) {
    try { await fn(); } catch (e) { console.error('cleanup:', e.message); }
  }
}

export function launchBrowser() {
  const { chromium } = loadPlaywright();
  // --no-sandbox: the tests may run as root (containers), where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
