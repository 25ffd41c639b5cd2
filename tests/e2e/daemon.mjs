// daemon.mjs — what the e2e tests share: the build's paths, a private slapd
// (tests/integration/slapdir.py, the integration tier's own), an
// `idbridge serve` of the test's own with a throwaway config and state
// directory, and a small cookie-keeping browser over fetch.
//
// Every process is our child; stop() waits for it.  Environment:
// IDBRIDGE_BUILDDIR (or IDBRIDGE_BIN) names the build.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const srcdir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builddir = process.env.IDBRIDGE_BUILDDIR ??
  (process.env.IDBRIDGE_BIN ? path.dirname(process.env.IDBRIDGE_BIN) : srcdir);
export const idbridge = process.env.IDBRIDGE_BIN ?? path.join(builddir, 'idbridge');
const integration = path.join(srcdir, 'tests', 'integration');
const PYTHON = '/usr/bin/python3';   // Debian's: it sees python3-* packages

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(fn, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function requireBuilt(...files) {
  for (const f of [idbridge, ...files]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build with make (and make check)`);
  }
}

// Where tests write what a person should look at (screenshots).
export function outputDir() {
  const d = process.env.IDBRIDGE_E2E_OUT ?? path.join(srcdir, 'tests', 'e2e', 'out');
  mkdirSync(d, { recursive: true });
  return d;
}

// The value for `secret =` in a [client] section, as `idbridge secret` prints it.
export function secretHash(secret) {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

// A fresh client secret and its hash, from the daemon's own CLI.
export function newSecret() {
  const [secret, hash] = execFileSync(idbridge, ['secret']).toString().trim().split('\n');
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(secretHash(secret), hash, 'idbridge secret: line 2 is sha256 of line 1');
  return { secret, hash };
}

// The seeded directory users and their passwords (slapdir.USERS).
export function directoryUsers() {
  return JSON.parse(execFileSync(PYTHON, ['-c', 'import json, slapdir; print(json.dumps(slapdir.USERS))'],
    { cwd: integration }).toString());
}

// A port in 61000-64999 that binds now (TESTING-NOTES: not the ephemeral range).
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 61000 + Math.floor(Math.random() * 4000);
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 61000-64999');
}

// Kill a child we still own if the test process dies before its after().
const owned = new Set();
process.on('exit', () => {
  for (const p of owned) p.kill('SIGKILL');
});

async function stopChild(proc) {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  owned.delete(proc);
  return proc.exitCode;
}

// A private seeded slapd: slapdir.py in the foreground, as our child.
export async function startSlapd() {
  const dir = mkdtempSync(path.join(tmpdir(), 'idb-e2e-ldap-'));
  const infoFile = path.join(dir, 'info.json');
  const logPath = path.join(dir, 'slapdir.log');
  const log = openSync(logPath, 'w');
  const proc = spawn(PYTHON, [path.join(integration, 'slapdir.py'), 'start', '--info', infoFile, '--rm'],
    { stdio: ['ignore', log, log] });
  closeSync(log);
  owned.add(proc);
  const info = await waitFor(() => {
    if (proc.exitCode !== null) {
      throw new Error(`slapdir.py exited ${proc.exitCode}:\n${readFileSync(logPath, 'utf8')}`);
    }
    return existsSync(infoFile) ? JSON.parse(readFileSync(infoFile, 'utf8')) : null;
  }, 'slapd');
  return {
    info,
    async stop() {
      const rc = await stopChild(proc);
      rmSync(dir, { recursive: true, force: true });
      assert.equal(rc, 0, 'slapdir.py must exit 0 on SIGTERM');
    },
  };
}

function configText(sections) {
  const out = [];
  for (const [name, keys] of Object.entries(sections)) {
    if (keys === null) continue;
    out.push(`[${name}]`);
    for (const [k, v] of Object.entries(keys)) {
      if (v === null || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out.push(`${k} = ${one}`);
    }
    out.push('');
  }
  return out.join('\n');
}

// The integration tier's base config (harness.Config); ldap = slapd.info or none.
function baseSections(dir, ldap) {
  const state = path.join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  return {
    server: {
      listen: '127.0.0.1:0', state_dir: state, templates: path.join(srcdir, 'templates'),
      allow_root: process.getuid() === 0 ? 'yes' : null,
    },
    store: { path: path.join(state, 'idbridge.db') },
    auth: { backend: 'ldap' },
    ldap: ldap ? {
      uri: ldap.ldap_uri, timeout: '5', bind_dn: ldap.bind_dn,
      bind_password_file: ldap.bind_password_file, user_base: ldap.user_base,
      user_filter: '(&(objectClass=inetOrgPerson)(uid=%u))', group_base: ldap.group_base,
      group_filter: '(|(member=%d)(memberUid=%u))', group_name_attribute: 'cn',
      nested_groups: 'yes', id_attribute: 'entryUUID', disabled_filter: ldap.disabled_filter,
    } : {
      // Never contacted.
      uri: 'ldap://127.0.0.1:1', bind_dn: 'cn=idbridge,dc=example,dc=org', bind_password: 'unused',
      user_base: 'ou=people,dc=example,dc=org', user_filter: '(uid=%u)',
      group_base: 'ou=groups,dc=example,dc=org', group_filter: '(member=%d)',
    },
    scopes: {
      'read:resource': 'engineering support', 'write:resource': 'engineering',
      'directory:read': 'staff', 'ops:admin': 'ops',
    },
  };
}

async function spawnServe(dir, sections) {
  const conf = path.join(dir, 'idbridge.conf');
  writeFileSync(conf, configText(sections));
  chmodSync(conf, 0o600);
  const portFile = path.join(dir, 'port');
  rmSync(portFile, { force: true });
  const logPath = path.join(dir, 'serve.log');
  const log = openSync(logPath, 'w');
  const proc = spawn(idbridge, ['serve', '-c', conf, '--port-file', portFile], { stdio: ['ignore', log, log] });
  closeSync(log);
  owned.add(proc);
  const output = () => readFileSync(logPath, 'utf8');
  try {
    const port = await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`idbridge serve exited ${proc.exitCode}:\n${output()}`);
      try {
        const t = readFileSync(portFile, 'utf8');
        return t.endsWith('\n') ? Number(t) : null;
      } catch {
        return null;
      }
    }, 'the port file');
    return { proc, port, output };
  } catch (e) {
    await stopChild(proc);
    throw e;
  }
}

/*
 * `idbridge serve` with the base config plus extra sections ({ 'client x':
 * {...} }, a value of null drops a key or section).  OAuth clients compare
 * the issuer with the URL they discover it at, so unless `issuer` is given
 * the daemon listens on a fixed free port that the issuer names.
 */
export async function startDaemon({ ldap = null, sections = {}, issuer = null } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'idb-e2e-'));
  const base = baseSections(dir, ldap);
  let started;
  try {
    for (let attempt = 0; !started; attempt++) {
      const port = issuer ? 0 : await freePort();
      const all = { ...base, ...sections };
      all.server = {
        ...base.server, ...(sections.server ?? {}),
        issuer: issuer ?? `http://127.0.0.1:${port}`, listen: `127.0.0.1:${port}`,
      };
      try {
        started = await spawnServe(dir, all);
        started.issuer = all.server.issuer;
      } catch (e) {
        // Someone took the port between the probe and the bind: try another.
        if (attempt >= 2 || issuer || !/in use/i.test(e.message)) throw e;
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const { proc, port, output } = started;
  return {
    dir, port, output,
    issuer: started.issuer,
    base: `http://127.0.0.1:${port}`,
    storePath: base.store.path,
    async stop() {
      const rc = await stopChild(proc);
      const log = output();
      rmSync(dir, { recursive: true, force: true });
      assert.equal(rc, 0, `idbridge serve must exit 0 on SIGTERM; its log:\n${log}`);
      return log;
    },
  };
}

// A browser without a browser: fetch that keeps cookies and never follows redirects.
export class Browser {
  constructor() {
    this.cookies = new Map();
  }

  async request(url, init = {}) {
    const headers = new Headers(init.headers ?? {});
    if (this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const r = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /;\s*Max-Age=0(;|$)/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return r;
  }

  get(url) {
    return this.request(url);
  }

  post(url, fields) {
    return this.request(url, { method: 'POST', body: new URLSearchParams(fields) });
  }
}

// The value of the hidden input `name` in an HTML page.
export function hiddenField(html, name) {
  const m = html.match(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`));
  assert.ok(m, `the page has a hidden ${name} field:\n${html}`);
  return m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

// Debian's chromium, headless, as every browser test starts it.
export function launchChromium(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
