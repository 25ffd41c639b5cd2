// jwt.test.mjs — npm's jose verifies access tokens signed by idbridge's C
// code against the daemon's /jwks.json, for each algorithm, checking typ,
// iss, aud and exp the way a plugin API would.
//
// The daemon is started by daemon.mjs (a throwaway state directory, port 0);
// tokens come from tests/unit/jwt_mint, a check-only helper that signs with
// a key from the daemon's store (adding a key of the algorithm when the
// store has none, which the daemon then publishes within a second).
// Environment: IDBRIDGE_BUILDDIR (or IDBRIDGE_BIN) names the build.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { builddir, requireBuilt, startDaemon, waitFor } from './daemon.mjs';

const jwtMint = path.join(builddir, 'tests', 'unit', 'jwt_mint');
const ISSUER = 'http://127.0.0.1';
const AUDIENCE = 'https://jira-plugin.example.com';

let daemon, base, storePath;

before(async () => {
  requireBuilt(jwtMint);
  // No directory: these tests never sign in.  The issuer needs no port:
  // tokens come from jwt_mint, not from a client's discovery.
  daemon = await startDaemon({ issuer: ISSUER });
  base = daemon.base;
  storePath = daemon.storePath;
});

after(async () => {
  if (daemon) await daemon.stop();
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
