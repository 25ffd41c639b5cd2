// snippets.test.mjs — the README's Node snippet (docs/snippets/verify.mjs,
// jose) run as a plugin API would run it, against a daemon's /jwks.json,
// with tokens signed by the daemon's own keys in each algorithm it uses.
// (tests/integration/test_snippets.py runs the Python one and checks that
// the README holds both files verbatim.)
//
// Tokens come from tests/unit/jwt_mint, which signs with a key from the
// daemon's store (adding one of the algorithm when the store has none; the
// daemon publishes it within a second).  The snippet is imported from a
// temporary copy next to a link to this directory's node_modules, where
// its `import 'jose'` resolves to the pinned jose.
// Environment: IDBRIDGE_BUILDDIR (or IDBRIDGE_BIN) names the build.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT, decodeProtectedHeader, errors, exportJWK, generateKeyPair } from 'jose';
import { builddir, requireBuilt, srcdir, startDaemon, waitFor } from './daemon.mjs';

const jwtMint = path.join(builddir, 'tests', 'unit', 'jwt_mint');
const ISSUER = 'http://127.0.0.1';
const AUDIENCE = 'https://jira-plugin.example.com';

let daemon, snippetDir, makeVerifier;

before(async () => {
  requireBuilt(jwtMint);
  snippetDir = mkdtempSync(path.join(tmpdir(), 'idb-e2e-snippet-'));
  symlinkSync(path.join(srcdir, 'tests', 'e2e', 'node_modules'), path.join(snippetDir, 'node_modules'));
  copyFileSync(path.join(srcdir, 'docs', 'snippets', 'verify.mjs'), path.join(snippetDir, 'verify.mjs'));
  ({ makeVerifier } = await import(pathToFileURL(path.join(snippetDir, 'verify.mjs')).href));
  daemon = await startDaemon({ issuer: ISSUER });
});

after(async () => {
  if (snippetDir) rmSync(snippetDir, { recursive: true, force: true });
  if (daemon) await daemon.stop();
});

function mint(alg, claims) {
  return execFileSync(jwtMint, [daemon.storePath, alg], { input: JSON.stringify(claims) })
    .toString().trim();
}

function claimsFor(alg, lifetime = 600) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER, sub: 'a3c1e0f2-0000-4000-8000-000000000002', aud: AUDIENCE,
    iat: now, exp: now + lifetime, jti: `snippet-${alg}-${now}`, client_id: 'jira',
    scope: 'read:resource', groups: ['engineering'],
  };
}

// The daemon re-reads its key set at most once a second: wait for kid.
async function published(kid) {
  await waitFor(async () => {
    const doc = await (await fetch(`${daemon.base}/jwks.json`)).json();
    return doc.keys.some((k) => k.kid === kid);
  }, `kid ${kid} in /jwks.json`);
}

const jwksUrl = () => `${daemon.base}/jwks.json`;

for (const alg of ['RS256', 'ES256', 'EdDSA']) {
  test(`the README's jose snippet accepts an ${alg} token of idbridge's`, async () => {
    const claims = claimsFor(alg);
    const token = mint(alg, claims);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, alg);
    await published(header.kid);
    const verify = makeVerifier(ISSUER, AUDIENCE, jwksUrl());
    assert.deepEqual(await verify(token), claims);
  });
}

test('the snippet refuses another audience, another issuer, an expired token, a tampered one', async () => {
  const claims = claimsFor('RS256');
  const token = mint('RS256', claims);
  await published(decodeProtectedHeader(token).kid);
  const verify = makeVerifier(ISSUER, AUDIENCE, jwksUrl());
  assert.deepEqual(await verify(token), claims);
  await assert.rejects(makeVerifier(ISSUER, 'https://wiki.example.com', jwksUrl())(token),
    errors.JWTClaimValidationFailed);
  await assert.rejects(makeVerifier('https://other.example.com', AUDIENCE, jwksUrl())(token),
    errors.JWTClaimValidationFailed);
  const now = Math.floor(Date.now() / 1000);
  await assert.rejects(verify(mint('RS256', { ...claims, iat: now - 900, exp: now - 120 })),
    errors.JWTExpired);
  const [h, , s] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'ops:admin' })).toString('base64url');
  await assert.rejects(verify(`${h}.${forged}.${s}`), errors.JWSSignatureVerificationFailed);
});

test('the snippet refuses a validly signed JWT that is not an access token (typ)', async () => {
  // jwt_mint signs only typ at+jwt: this key and its JWK Set are the test's
  // own, served over HTTP, so only typ is wrong.
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'snippet-typ', alg: 'ES256', use: 'sig' };
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/jwks.json`;
    const sign = (typ) => new SignJWT(claimsFor('ES256'))
      .setProtectedHeader({ alg: 'ES256', kid: 'snippet-typ', typ }).sign(privateKey);
    const verify = makeVerifier(ISSUER, AUDIENCE, url);
    // The same token with typ at+jwt passes: the refusal below is for typ.
    assert.equal((await verify(await sign('at+jwt'))).client_id, 'jira');
    await assert.rejects(verify(await sign('JWT')),
      (e) => e instanceof errors.JWTClaimValidationFailed && e.claim === 'typ');
  } finally {
    await new Promise((r) => server.close(r));
  }
});
