// openid-client.test.mjs — npm's openid-client (v6, unmodified) against the
// daemon: discovery, authorization code + PKCE for a public client and for a
// confidential one (client_secret_basic), refresh, introspection by a
// plugin API's credentials, revocation.  The browser step (login form,
// cookies, 303s) is done with fetch; the access tokens verify with jose
// against /jwks.json the way a plugin API checks them.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  Browser, directoryUsers, hiddenField, newSecret, requireBuilt, startDaemon, startSlapd,
} from './daemon.mjs';

const AUDIENCE = 'https://jira-plugin.example.com';
const NATIVE_REDIRECT = 'http://127.0.0.1:53682/callback';   // any port: a public loopback client
const SVC_REDIRECT = 'http://127.0.0.1:61999/svc/callback';  // never contacted
const insecure = { execute: [client.allowInsecureRequests] };  // plain http, loopback only

let slapd, daemon, users, svc, api;

before(async () => {
  requireBuilt();
  users = directoryUsers();
  svc = newSecret();
  api = newSecret();
  slapd = await startSlapd();
  daemon = await startDaemon({
    ldap: slapd.info,
    sections: {
      'client cli': {
        name: 'Command line', public: 'yes', redirect_uri: 'http://127.0.0.1/callback',
        scopes: 'read:resource write:resource', consent: 'skip',
      },
      'plugin jira': { auth: 'oauth', client: 'cli', audience: AUDIENCE },
      'client svc': {
        name: 'Service', secret: svc.hash, redirect_uri: SVC_REDIRECT,
        scopes: 'read:resource directory:read', consent: 'skip',
      },
      'client api': {
        name: 'Jira plugin API', secret: api.hash, redirect_uri: 'https://jira-plugin.example.com/cb',
        scopes: 'read:resource', introspect: 'yes',
      },
    },
  });
});

after(async () => {
  if (daemon) await daemon.stop();
  if (slapd) await slapd.stop();
});

// What the user's browser does between the authorization URL and the
// redirect URI: the login form (hidden csrf, pre-auth cookie), the 303
// back to /authorize, and the 303 to the client (consent = skip).
async function signIn(authorizationUrl, user) {
  const b = new Browser();
  let r = await b.get(authorizationUrl);
  const page = await r.text();
  assert.equal(r.status, 200, page);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.ok(b.cookies.has('idb_preauth'), 'GET /authorize sets the pre-auth cookie');
  r = await b.post(new URL('/authorize', daemon.base), {
    username: user, password: users[user].password, csrf: hiddenField(page, 'csrf'),
  });
  assert.equal(r.status, 303, await r.text());
  assert.ok(b.cookies.has('idb_session'), 'signing in sets the session cookie');
  const back = new URL(r.headers.get('location'), daemon.base);
  assert.equal(back.origin + back.pathname, `${daemon.base}/authorize`);
  r = await b.get(back);
  assert.equal(r.status, 303, await r.text());
  return new URL(r.headers.get('location'));
}

async function verifyAccessToken(config, token, audience) {
  const JWKS = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, JWKS, {
    issuer: daemon.issuer, audience, typ: 'at+jwt', algorithms: ['RS256'],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(payload.exp > now && payload.exp <= now + 900 + 5, `exp ${payload.exp} is within access_ttl`);
  assert.ok(payload.iat <= now + 5);
  // jose refuses the token for another audience and another issuer.
  await assert.rejects(jwtVerify(token, JWKS, { issuer: daemon.issuer, audience: 'https://other.example.com' }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
  await assert.rejects(jwtVerify(token, JWKS, { issuer: 'http://127.0.0.1:1', audience }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
  return payload;
}

// openid-client wraps oauth4webapi's reason in a ClientError's cause.
async function rejectsBecause(promise, re) {
  await assert.rejects(promise, (e) => {
    const why = `${e.message} / ${e.cause?.message ?? ''}`;
    assert.match(why, re);
    return true;
  });
}

// A 401 invalid_client with its WWW-Authenticate challenge (RFC 6749 §5.2).
async function rejectsUnauthorized(promise) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof client.WWWAuthenticateChallengeError, String(err));
  assert.equal(err.status, 401);
  assert.equal(err.cause[0].scheme, 'basic');
  assert.equal((await err.response.json()).error, 'invalid_client');
}

function introspector(config) {
  const c = new client.Configuration(config.serverMetadata(), 'api', undefined,
    client.ClientSecretPost(api.secret));
  client.allowInsecureRequests(c);
  return c;
}

async function pkceAuthorization(config, redirectUri, scope) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope, state,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
  });
  const callback = await signIn(url, 'alice');
  assert.equal(callback.origin + callback.pathname, redirectUri);
  return { callback, pkceCodeVerifier, state };
}

test('discovery: both well-known documents describe the daemon to openid-client', async () => {
  for (const algorithm of ['oidc', 'oauth2']) {
    const config = await client.discovery(new URL(daemon.issuer), 'cli', undefined, client.None(),
      { ...insecure, algorithm });
    const m = config.serverMetadata();
    assert.equal(m.issuer, daemon.issuer, algorithm);
    assert.equal(m.authorization_endpoint, `${daemon.issuer}/authorize`);
    assert.equal(m.token_endpoint, `${daemon.issuer}/token`);
    assert.equal(m.jwks_uri, `${daemon.issuer}/jwks.json`);
    assert.equal(m.introspection_endpoint, `${daemon.issuer}/introspect`);
    assert.equal(m.revocation_endpoint, `${daemon.issuer}/revoke`);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.ok(config.serverMetadata().supportsPKCE());
    assert.ok(!m.scopes_supported.includes('openid'), 'no OpenID Connect scope');
  }
  // Without allowInsecureRequests the library refuses a plain-http issuer.
  await assert.rejects(client.discovery(new URL(daemon.issuer), 'cli'), /https|insecure|HTTP/i);
});

test('public client: authorization code + PKCE, refresh, introspection, revocation', async () => {
  const config = await client.discovery(new URL(daemon.issuer), 'cli', undefined, client.None(), insecure);
  const { callback, pkceCodeVerifier, state } = await pkceAuthorization(config, NATIVE_REDIRECT,
    'read:resource write:resource');
  assert.equal(callback.searchParams.get('state'), state);
  assert.equal(callback.searchParams.get('iss'), daemon.issuer);

  // The library checks state and iss before it spends the code.
  await rejectsBecause(client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier, expectedState: client.randomState() }), /"state"/);
  const forgedIss = new URL(callback);
  forgedIss.searchParams.set('iss', 'http://127.0.0.1:1');
  await rejectsBecause(client.authorizationCodeGrant(config, forgedIss,
    { pkceCodeVerifier, expectedState: state }), /"iss"/);
  const noIss = new URL(callback);
  noIss.searchParams.delete('iss');
  await rejectsBecause(client.authorizationCodeGrant(config, noIss,
    { pkceCodeVerifier, expectedState: state }), /"iss"/);

  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState: state });
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(tokens.scope, 'read:resource write:resource');
  assert.ok(tokens.refresh_token);
  assert.ok(tokens.expiresIn() > 0 && tokens.expiresIn() <= 900);
  const claims = await verifyAccessToken(config, tokens.access_token, AUDIENCE);
  assert.equal(claims.client_id, 'cli');
  assert.equal(claims.scope, 'read:resource write:resource');
  assert.ok(claims.groups.includes('engineering'));
  // The same code again: refused.
  await assert.rejects(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState: state }),
    { error: 'invalid_grant' });
  // ... and the replay revoked what the code issued (PROTOCOLS: code replay).
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), { error: 'invalid_grant' });

  // A second sign-in (the session is new: one browser per sign-in), then refresh.
  const second = await pkceAuthorization(config, NATIVE_REDIRECT, 'read:resource');
  const t1 = await client.authorizationCodeGrant(config, second.callback,
    { pkceCodeVerifier: second.pkceCodeVerifier, expectedState: second.state });
  assert.equal(t1.scope, 'read:resource');
  const t2 = await client.refreshTokenGrant(config, t1.refresh_token);
  assert.notEqual(t2.refresh_token, t1.refresh_token, 'refresh tokens rotate');
  assert.equal(t2.scope, 'read:resource');
  const c2 = await verifyAccessToken(config, t2.access_token, AUDIENCE);
  assert.equal(c2.sub, claims.sub);
  assert.notEqual(c2.jti, claims.jti);

  // Introspection with the plugin API's credentials (client_secret_post).
  const api = introspector(config);
  let info = await client.tokenIntrospection(api, t2.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, 'cli');
  assert.equal(info.scope, 'read:resource');
  assert.equal(info.sub, c2.sub);
  assert.equal(info.iss, daemon.issuer);
  assert.equal(info.aud, AUDIENCE);
  assert.equal(info.exp, c2.exp);
  // A refresh token is no access token.
  info = await client.tokenIntrospection(api, t2.refresh_token);
  assert.equal(info.active, false);
  // The code replay above revoked the first grant's access token.
  info = await client.tokenIntrospection(api, tokens.access_token);
  assert.equal(info.active, false, 'a replayed code revokes the access token it issued');

  // Revocation of the refresh token by its own (public) client ends the family.
  await client.tokenRevocation(config, t2.refresh_token);
  for (const t of [t1.access_token, t2.access_token]) {
    info = await client.tokenIntrospection(api, t);
    assert.equal(info.active, false, 'revoked family: access token inactive');
  }
  await assert.rejects(client.refreshTokenGrant(config, t2.refresh_token), { error: 'invalid_grant' });
});

test('confidential client: client_secret_basic for the code, refresh, revocation', async () => {
  const config = await client.discovery(new URL(daemon.issuer), 'svc', undefined,
    client.ClientSecretBasic(svc.secret), insecure);
  const { callback, pkceCodeVerifier, state } = await pkceAuthorization(config, SVC_REDIRECT,
    'read:resource directory:read');
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState: state });
  assert.equal(tokens.scope, 'read:resource directory:read');
  // No [plugin] names this client: the audience is the issuer.
  const claims = await verifyAccessToken(config, tokens.access_token, daemon.issuer);
  assert.equal(claims.client_id, 'svc');
  assert.ok(claims.groups.includes('staff'), 'nested group staff mapped from [scopes]');
  assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'RS256');

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.equal(refreshed.scope, 'read:resource directory:read');
  // Narrowing on refresh: only what was asked for.
  const narrowed = await client.refreshTokenGrant(config, refreshed.refresh_token, { scope: 'read:resource' });
  assert.equal(narrowed.scope, 'read:resource');

  // Wrong secret in the Basic header (its last character changed, whatever
  // it was: the secret is random and may end in any letter): 401 invalid_client.
  const last = svc.secret.slice(-1) === 'x' ? 'y' : 'x';
  const wrong = new client.Configuration(config.serverMetadata(), 'svc', undefined,
    client.ClientSecretBasic(`${svc.secret.slice(0, -1)}${last}`));
  client.allowInsecureRequests(wrong);
  await rejectsUnauthorized(client.refreshTokenGrant(wrong, narrowed.refresh_token));
  // A client without introspect = yes may not introspect.
  await rejectsUnauthorized(client.tokenIntrospection(config, narrowed.access_token));

  // Revoking the access token ends the grant: refresh and introspection agree.
  const api = introspector(config);
  assert.equal((await client.tokenIntrospection(api, narrowed.access_token)).active, true);
  await client.tokenRevocation(config, narrowed.access_token, { token_type_hint: 'access_token' });
  assert.equal((await client.tokenIntrospection(api, narrowed.access_token)).active, false);
  await assert.rejects(client.refreshTokenGrant(config, narrowed.refresh_token), { error: 'invalid_grant' });
});
