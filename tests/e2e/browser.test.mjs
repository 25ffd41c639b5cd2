// browser.test.mjs — Debian's chromium, driven by npm's playwright-core,
// signs in on idbridge's login page, consents, and lands on the client's
// redirect URI (a tiny HTTP server of this test on 127.0.0.1) with a code
// that the test exchanges at /token.  Screenshots of the login and consent
// pages go to $IDBRIDGE_E2E_OUT (default tests/e2e/out/).
// Environment: IDBRIDGE_BUILDDIR; CHROMIUM (default /usr/bin/chromium).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  directoryUsers, launchChromium, newSecret, outputDir, requireBuilt, startDaemon, startSlapd,
} from './daemon.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AUDIENCE = 'https://jira-plugin.example.com';

let slapd, daemon, browser, callback, redirectUri, users, secret, out;
const landed = [];   // the requests the redirect URI received

before(async () => {
  requireBuilt(CHROMIUM);
  users = directoryUsers();
  secret = newSecret();
  out = outputDir();
  // The client's redirect URI: a page that says it got a code.
  callback = http.createServer((req, res) => {
    landed.push(new URL(req.url, redirectUri));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><title>Client</title><h1>The client got its code</h1>');
  });
  await new Promise((r) => callback.listen(0, '127.0.0.1', r));
  // A confidential client's redirect URI is compared exactly, port included.
  redirectUri = `http://127.0.0.1:${callback.address().port}/oauth/callback`;
  slapd = await startSlapd();
  daemon = await startDaemon({
    ldap: slapd.info,
    sections: {
      'client jira': {
        name: 'Jira (internal)', secret: secret.hash, redirect_uri: redirectUri,
        scopes: 'read:resource write:resource', pkce: 'optional', consent: 'ask',
      },
      'plugin jira': { auth: 'oauth', client: 'jira', audience: AUDIENCE },
    },
  });
  browser = await launchChromium(CHROMIUM);
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.stop();
  if (slapd) await slapd.stop();
  if (callback) await new Promise((r) => callback.close(r));
});

function authorizationUrl(state) {
  const u = new URL('/authorize', daemon.base);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: 'jira', redirect_uri: redirectUri, state,
    scope: 'read:resource write:resource',
  });
  return u.href;
}

async function shoot(page, name, t) {
  const file = path.join(out, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(existsSync(file));
  t.diagnostic(`screenshot: ${file}`);
}

// A page that remembers what chromium said about it (CSP violations…).
async function newPage(context) {
  const page = await context.newPage();
  page.console = [];
  page.on('console', (m) => page.console.push(`${m.type()}: ${m.text()}`));
  return page;
}

// The redirect URI's page, with the query the client received.
async function landing(page, state) {
  try {
    await page.waitForURL((u) => u.href.startsWith(`${redirectUri}?`), { timeout: 5000 });
  } catch (e) {
    await page.waitForTimeout(500);   // chromium's console report may come after the abort
    assert.fail(`chromium never reached the redirect URI (${e.message.split('\n')[0]}); ` +
      `it shows ${page.url()}; its console:\n  ${page.console.join('\n  ')}`);
  }
  await page.getByRole('heading', { name: 'The client got its code' }).waitFor();
  const u = new URL(page.url());
  assert.equal(u.searchParams.get('state'), state);
  assert.equal(u.searchParams.get('iss'), daemon.issuer);
  assert.equal(u.searchParams.get('error'), null);
  assert.ok(landed.some((l) => l.searchParams.get('code') === u.searchParams.get('code')),
    'the redirect URI received the code');
  return u.searchParams.get('code');
}

// The client's side: exchange the code (client_secret_basic, form body) and check the tokens.
async function exchange(code, user) {
  const r = await fetch(`${daemon.base}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`jira:${encodeURIComponent(secret.secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(body.token_type.toLowerCase(), 'bearer');
  assert.ok(body.refresh_token && body.expires_in > 0);
  const JWKS = createRemoteJWKSet(new URL(`${daemon.base}/jwks.json`));
  const { payload } = await jwtVerify(body.access_token, JWKS, {
    issuer: daemon.issuer, audience: AUDIENCE, typ: 'at+jwt',
  });
  assert.equal(payload.client_id, 'jira');
  assert.equal(payload.scope, body.scope);
  for (const s of body.scope.split(' ')) assert.ok(['read:resource', 'write:resource'].includes(s), s);
  assert.ok(payload.groups.length > 0, `${user} has mapped groups`);
  return body;
}

test('chromium signs in, consents and lands on the redirect URI with a code', async (t) => {
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    const state = 'browser-st-1';
    const r = await page.goto(authorizationUrl(state));
    assert.equal(r.status(), 200);
    assert.match(await page.title(), /^Sign in/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.locator('.app').textContent(), 'Jira (internal)');
    assert.deepEqual(await page.locator('ul.scopes li').allTextContents(), ['read:resource', 'write:resource']);
    // The labels name the fields (what a screen reader announces).
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(users.alice.password);
    await shoot(page, 'login.png', t);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    assert.match(await page.title(), /^Allow access\?/);
    assert.equal(await page.locator('.user').textContent(), 'Alice Liddell');
    assert.deepEqual(await page.locator('ul.scopes li').allTextContents(), ['read:resource', 'write:resource']);
    await shoot(page, 'consent.png', t);
    await page.getByRole('button', { name: 'Allow' }).click();

    const code = await landing(page, state);
    const tokens = await exchange(code, 'alice');
    assert.equal(tokens.scope, 'read:resource write:resource');

    // The consent is remembered: the same sign-in again goes straight to the client.
    const again = await page.goto(authorizationUrl('browser-st-2'));
    assert.ok(again.url().startsWith(redirectUri), `the session and the consent skip both pages: ${again.url()}`);
    await exchange(await landing(page, 'browser-st-2'), 'alice');
  } finally {
    await context.close();
  }
});

test('keyboard only: Tab and Enter sign in and allow', async () => {
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    await page.goto(authorizationUrl('keyboard-st'));
    // The user name field has the focus when the page opens.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username');
    await page.keyboard.type('bob');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await page.keyboard.type(users.bob.password);
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    // bob (support) may have read:resource only: the page asks for no more.
    assert.deepEqual(await page.locator('ul.scopes li').allTextContents(), ['read:resource']);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Allow');
    await page.keyboard.press('Enter');

    const tokens = await exchange(await landing(page, 'keyboard-st'), 'bob');
    assert.equal(tokens.scope, 'read:resource');
  } finally {
    await context.close();
  }
});
