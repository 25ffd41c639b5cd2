// jwt.test.mjs — npm's jose verifies access tokens signed by idbridge's C
// code against the daemon's /jwks.json, for each algorithm, checking typ,
// iss, aud and exp the way a plugin API would.
//
// The daemon is started here (a throwaway state directory, listen port 0);
// tokens come from tests/unit/jwt_mint, a check-only helper that signs with
// a key from the daemon's store (adding a key of the algorithm when the
// store has none, which the daemon then publishes within a second).
// Environment: IDBRIDGE_BUILDDIR (or IDBRIDGE_BIN) names the build.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';

const srcdir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const builddir = process.env.IDBRIDGE_BUILDDIR ??
  (process.env.IDBRIDGE_BIN ? path.dirname(process.env.IDBRIDGE_BIN) : srcdir);
const idbridge = process.env.IDBRIDGE_BIN ?? path.join(builddir, 'idbridge');
const jwtMint = path.join(builddir, 'tests', 'unit', 'jwt_mint');
const ISSUER = 'http://127.0.0.1';
const AUDIENCE = 'https://jira-plugin.example.com';

let dir, daemon, base, storePath;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  for (const f of [idbridge, jwtMint]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build with make and make check`);
  }
  dir = mkdtempSync(path.join(tmpdir(), 'idb-e2e-'));
  const state = path.join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  storePath = path.join(state, 'idbridge.db');
  const conf = path.join(dir, 'idbridge.conf');
  writeFileSync(conf, [
    '[server]', `issuer = ${ISSUER}`, 'listen = 127.0.0.1:0', `state_dir = ${state}`,
    `templates = ${path.join(srcdir, 'templates')}`,
    ...(process.getuid() === 0 ? ['allow_root = yes'] : []),
    '[store]', `path = ${storePath}`,
    '[auth]', 'backend = ldap',
    // Never contacted: these tests need no directory.
    '[ldap]', 'uri = ldap://127.0.0.1:1', 'bind_dn = cn=idbridge,dc=example,dc=org',
    'bind_password = unused', 'user_base = ou=people,dc=example,dc=org',
    'user_filter = (uid=%u)', 'group_base = ou=groups,dc=example,dc=org',
    'group_filter = (member=%d)', '',
  ].join('\n'));
  chmodSync(conf, 0o600);
  const portFile = path.join(dir, 'port');
  const logPath = path.join(dir, 'serve.log');
  const log = openSync(logPath, 'w');
  daemon = spawn(idbridge, ['serve', '-c', conf, '--port-file', portFile],
    { stdio: ['ignore', log, log] });
  closeSync(log);
  const port = await waitFor(() => {
    if (daemon.exitCode !== null) {
      throw new Error(`idbridge serve exited ${daemon.exitCode}:\n${readFileSync(logPath, 'utf8')}`);
    }
    try {
      const t = readFileSync(portFile, 'utf8');
      return t.endsWith('\n') ? Number(t) : null;
    } catch {
      return null;
    }
  }, 'the port file');
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
    assert.equal(daemon.exitCode, 0, 'idbridge serve must exit 0 on SIGTERM');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function mint(alg, claims) {
  return execFileSync(jwtMint, [storePath, alg], { input: JSON.stringify(claims) })
    .toString().trim();
}

function claimsFor(alg, lifetime = 600) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER, sub: 'a3c1e0f2-0000-4000-8000-000000000001', aud: AUDIENCE,
    iat: now, exp: now + lifetime, jti: `jti-${alg}-${now}`, client_id: 'jira',
    scope: 'read:resource', groups: ['engineering'],
  };
}

// The daemon re-reads its key set at most once a second: wait for kid.
async function published(kid) {
  return waitFor(async () => {
    const r = await fetch(`${base}/jwks.json`);
    const doc = await r.json();
    return doc.keys.some((k) => k.kid === kid) ? doc : null;
  }, `kid ${kid} in /jwks.json`);
}

test('/jwks.json is cacheable for max-age and is a JWK Set jose accepts', async () => {
  const r = await fetch(`${base}/jwks.json`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const doc = await r.json();
  assert.ok(doc.keys.length >= 1);
  const jwks = createLocalJWKSet(doc);
  assert.equal(typeof jwks, 'function');
});

for (const alg of ['RS256', 'ES256', 'EdDSA']) {
  test(`${alg}: a token signed by idbridge verifies with jose`, async () => {
    const claims = claimsFor(alg);
    const token = mint(alg, claims);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, alg);
    assert.equal(header.typ, 'at+jwt');
    await published(header.kid);
    const JWKS = createRemoteJWKSet(new URL(`${base}/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, JWKS, {
      issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: [alg],
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
    });
    assert.deepEqual(payload, claims);
    assert.equal(protectedHeader.kid, header.kid);

    // What a plugin API must refuse: another audience, another issuer, another typ.
    await assert.rejects(jwtVerify(token, JWKS, { issuer: ISSUER, audience: 'https://other.example.com' }),
      errors.JWTClaimValidationFailed);
    await assert.rejects(jwtVerify(token, JWKS, { issuer: 'https://evil.example.com', audience: AUDIENCE }),
      errors.JWTClaimValidationFailed);
    await assert.rejects(jwtVerify(token, JWKS, { typ: 'JWT' }), errors.JWTClaimValidationFailed);
    // A tampered payload fails the signature.
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'write:resource' })).toString('base64url');
    await assert.rejects(jwtVerify(`${h}.${forged}.${s}`, JWKS), errors.JWSSignatureVerificationFailed);
  });

  test(`${alg}: an expired token is refused by jose`, async () => {
    const claims = claimsFor(alg, -3600);
    claims.iat -= 7200;
    const token = mint(alg, claims);
    await published(decodeProtectedHeader(token).kid);
    const JWKS = createRemoteJWKSet(new URL(`${base}/jwks.json`));
    await assert.rejects(jwtVerify(token, JWKS, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' }),
      errors.JWTExpired);
  });
}
