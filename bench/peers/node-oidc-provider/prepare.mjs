// Obtain what the benchmark replays from a running server.mjs, over HTTP:
// a refresh token from a real authorization_code grant (a sign-in through
// oidc-provider's development interactions, consent to offline_access, the
// code exchange) and an access token from a client_credentials grant.
//
// Usage: BENCH_CLIENT_ID=.. BENCH_CLIENT_SECRET=.. node prepare.mjs BASE [--jwt]
// Prints one JSON object: refresh_token, access_token, scope.
//
// Redirects are followed by hand and never to the client's redirect_uri
// (whose host is not this machine): its code is read from the Location.
import { argv, env, exit } from 'node:process';

const REDIRECT_URI = 'https://bench.example.com/callback';
const ACCOUNT = 'bench-user';
const MAX_HOPS = 12;

const base = argv[2];
const jwt = argv.includes('--jwt');
const basic = `Basic ${Buffer.from(
	`${encodeURIComponent(env.BENCH_CLIENT_ID)}:${encodeURIComponent(env.BENCH_CLIENT_SECRET)}`,
).toString('base64')}`;
const cookies = new Map();

function fail(what) {
	console.error(`prepare.mjs: ${what}`);
	exit(1);
}

function keepCookies(response) {
	for (const line of response.headers.getSetCookie()) {
		const [pair] = line.split(';');
		const eq = pair.indexOf('=');
		const value = pair.slice(eq + 1);
		if (value === '')
			cookies.delete(pair.slice(0, eq));
		else
			cookies.set(pair.slice(0, eq), value);
	}
}

async function request(url, init = {}) {
	const headers = { ...init.headers };
	if (cookies.size)
		headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
	const response = await fetch(new URL(url, base), { ...init, headers, redirect: 'manual' });
	keepCookies(response);
	return response;
}

// Follow redirects within the server until the client's redirect_uri.
async function follow(response) {
	for (let hop = 0; hop < MAX_HOPS; hop++) {
		const location = response.headers.get('location');
		if (!location)
			return response;
		if (location.startsWith(REDIRECT_URI))
			return new URL(location);
		response = await request(location);
	}
	return fail('too many redirects');
}

function form(fields) {
	return {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fields).toString(),
	};
}

// Submit the development interaction the server is at (login, then consent).
async function interact(response, prompt, fields) {
	const url = new URL(response.url);
	if (!url.pathname.startsWith('/interaction/'))
		fail(`expected the ${prompt} interaction, got ${response.status} ${url}`);
	return follow(await request(url.pathname, form({ prompt, ...fields })));
}

async function token(fields) {
	const response = await fetch(new URL('/token', base), {
		method: 'POST',
		headers: {
			authorization: basic,
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams(fields).toString(),
	});
	const body = await response.json();
	if (response.status !== 200)
		fail(`token endpoint (${fields.grant_type}): ${response.status} ${JSON.stringify(body)}`);
	return body;
}

async function signIn() {
	const auth = new URL('/auth', base);
	auth.search = new URLSearchParams({
		client_id: env.BENCH_CLIENT_ID,
		response_type: 'code',
		redirect_uri: REDIRECT_URI,
		scope: jwt ? 'offline_access api:read' : 'offline_access',
		prompt: 'consent',
		state: 'bench',
	}).toString();
	let at = await follow(await request(auth));
	at = await interactAt(at, 'login', { login: ACCOUNT, password: 'unused' });
	at = await interactAt(at, 'consent', {});
	if (!(at instanceof URL) || !at.searchParams.get('code'))
		fail(`no code after consent: ${at instanceof URL ? at : at.status}`);
	return at.searchParams.get('code');
}

async function interactAt(at, prompt, fields) {
	if (at instanceof URL)
		fail(`redirected to the client before ${prompt}: ${at}`);
	return interact(at, prompt, fields);
}

async function main() {
	if (!base || !env.BENCH_CLIENT_ID || !env.BENCH_CLIENT_SECRET)
		fail('usage: BENCH_CLIENT_ID=.. BENCH_CLIENT_SECRET=.. node prepare.mjs BASE [--jwt]');
	const code = await signIn();
	const refreshed = await token({
		grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI,
	});
	if (!refreshed.refresh_token)
		fail(`no refresh token from the code exchange: ${JSON.stringify(refreshed)}`);
	const cc = await token({
		grant_type: 'client_credentials', ...(jwt ? { scope: 'api:read' } : {}),
	});
	console.log(JSON.stringify({
		refresh_token: refreshed.refresh_token,
		access_token: cc.access_token,
		scope: refreshed.scope,
	}));
}

main().catch((err) => fail(err.stack ?? String(err)));
