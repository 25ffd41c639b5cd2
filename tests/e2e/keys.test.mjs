// keys.test.mjs — the API key portal in a real browser (Debian's chromium
// through playwright-core): an employee opens /keys, signs in on the login
// page, creates a key, copies it from the box it is shown in once, uses it
// at /verify, and revokes it.  Screenshots go to $IDBRIDGE_E2E_OUT.
// Environment: IDBRIDGE_BUILDDIR; CHROMIUM (default /usr/bin/chromium).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  directoryUsers, launchChromium, outputDir, requireBuilt, startDaemon, startSlapd,
} from './daemon.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const KEY_RE = /^idb_[0-9A-Za-z]{49}$/;

let slapd, daemon, browser, users, out;

before(async () => {
  requireBuilt(CHROMIUM);
  users = directoryUsers();
  out = outputDir();
  slapd = await startSlapd();
  daemon = await startDaemon({
    ldap: slapd.info,
    sections: { 'plugin tools': { auth: 'user_http' } },
  });
  browser = await launchChromium(CHROMIUM);
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.stop();
  if (slapd) await slapd.stop();
});

async function shoot(page, name, t) {
  const file = path.join(out, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(existsSync(file));
  t.diagnostic(`screenshot: ${file}`);
}

async function verify(key, plugin = 'tools') {
  const r = await fetch(`${daemon.base}/verify?plugin=${plugin}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: r.status, user: r.headers.get('x-idbridge-user'), scopes: r.headers.get('x-idbridge-scopes') };
}

test('chromium: sign in at /keys, create a key, copy it once, use it, revoke it', async (t) => {
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: daemon.base });
  const csp = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()); });

    // No session: the same login page as /authorize, posting back to /keys.
    const r = await page.goto(`${daemon.base}/keys`);
    assert.equal(r.status(), 200);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('Sign in to see and manage your API keys.').waitFor();
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(users.alice.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Your API keys' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/keys');
    assert.equal(await page.locator('#keys-user').textContent(), 'Alice Liddell');
    await page.locator('#no-keys').waitFor();
    await shoot(page, 'keys-empty.png', t);

    // Create: a name, one scope among those alice's groups allow, the default expiry.
    await page.getByLabel('Name').fill('notebook');
    await page.getByLabel('read:resource').check();
    assert.equal(await page.getByLabel('Expires after').inputValue(), '30');
    await page.getByRole('button', { name: 'Create key' }).click();

    // Shown once, in a box; copy it the way a person would: select, Ctrl+C.
    await page.locator('#new-key-box').waitFor();
    await page.locator('#new-key').selectText();
    await page.keyboard.press('Control+C');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, KEY_RE);
    assert.equal(copied, await page.locator('#new-key').inputValue());
    await shoot(page, 'keys-created.png', t);
    const row = page.locator('#keys-table tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('th').textContent(), 'notebook');
    assert.equal(await row.locator('td').first().textContent(), 'read:resource');

    // The copied key works at /verify for the user_http plugin.
    let v = await verify(copied);
    assert.equal(v.status, 200);
    assert.equal(v.user, 'alice');
    assert.equal(v.scopes, 'read:resource');

    // Never shown again: a reload lists the key by name only.
    await page.goto(`${daemon.base}/keys`);
    await page.getByRole('heading', { name: 'Your API keys' }).waitFor();
    assert.equal(await page.locator('#new-key').count(), 0);
    assert.ok(!(await page.content()).includes(copied), 'the key is not in the page any more');
    assert.equal(await page.locator('#keys-table tbody tr').count(), 1);

    // Revoke: the key stops working at once.
    await page.getByRole('button', { name: 'Revoke notebook' }).click();
    await page.locator('#keys-notice').waitFor();
    assert.match(await page.locator('#keys-notice').textContent(), /revoked/);
    await page.locator('#no-keys').waitFor();
    v = await verify(copied);
    assert.equal(v.status, 401);
    await shoot(page, 'keys-revoked.png', t);
    assert.deepEqual(csp, [], 'no Content Security Policy violation');
  } finally {
    await context.close();
  }
});

test('chromium: a hostile key name stays text', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    let dialogs = 0;
    page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
    await page.goto(`${daemon.base}/keys`);
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill(users.bob.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your API keys' }).waitFor();
    const name = '<img src=x onerror=alert(1)>';
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('read:resource').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#new-key-box').waitFor();
    assert.equal(await page.locator('#keys-table tbody tr th').textContent(), name);
    assert.equal(await page.locator('#keys-table img').count(), 0);
    assert.equal(dialogs, 0);
  } finally {
    await context.close();
  }
});
