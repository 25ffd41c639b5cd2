// node oidc-provider as a peer server for bench/run --peers.
//
// Usage: node server.mjs --dir DIR [--jwt]
//
// Listens on a free loopback port, writes DIR/port once it accepts
// connections, and serves one confidential client whose id and secret come
// from the environment (BENCH_CLIENT_ID, BENCH_CLIENT_SECRET).  The store is
// the in-memory adapter below: nothing is durable, and a restart forgets
// every grant and token.  --jwt issues JWT access tokens (RS256) for a
// resource server instead of opaque ones.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
	options: {
		dir: { type: 'string' },
		jwt: { type: 'boolean', default: false },
	},
});
if (!opts.dir || !process.env.BENCH_CLIENT_ID || !process.env.BENCH_CLIENT_SECRET) {
	console.error('usage: BENCH_CLIENT_ID=.. BENCH_CLIENT_SECRET=.. node server.mjs --dir DIR [--jwt]');
	process.exit(2);
}

const REDIRECT_URI = 'https://bench.example.com/callback';
const RESOURCE = 'urn:idbridge:bench';
const SWEEP_MS = 10_000;

// The default MemoryAdapter is an LRU of 1,000 entries: a benchmark issuing
// thousands of tokens a second would evict the very refresh token and access
// token it replays.  This one keeps every entry until it expires, sweeping
// expired ones every SWEEP_MS.  Memory therefore grows with the tokens
// issued in the last token lifetime; the TTLs below keep that bounded.
const store = new Map();

function expired(entry, now) {
	return entry.expiresAt !== undefined && entry.expiresAt <= now;
}

setInterval(() => {
	const now = Date.now();
	for (const [key, entry] of store) {
		if (expired(entry, now))
			store.delete(key);
	}
}, SWEEP_MS).unref();

class MemoryAdapter {
	constructor(model) {
		this.model = model;
	}

	key(id) {
		return `${this.model}:${id}`;
	}

	get(key) {
		const entry = store.get(key);
		if (!entry)
			return undefined;
		if (expired(entry, Date.now())) {
			store.delete(key);
			return undefined;
		}
		return entry.value;
	}

	put(key, value, expiresIn) {
		const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
		store.set(key, { value, expiresAt });
	}

	async upsert(id, payload, expiresIn) {
		this.put(this.key(id), payload, expiresIn);
		if (payload.grantId)
			this.index(`grant:${payload.grantId}`, this.key(id), expiresIn);
		if (payload.userCode)
			this.put(`userCode:${payload.userCode}`, id, expiresIn);
		if (payload.uid)
			this.put(`uid:${payload.uid}`, id, expiresIn);
	}

	// The keys of a grant's tokens, for revokeByGrantId; the index lives as
	// long as its longest-lived member.
	index(grantKey, key, expiresIn) {
		const entry = store.get(grantKey);
		const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
		if (!entry || expired(entry, Date.now())) {
			store.set(grantKey, { value: [key], expiresAt });
			return;
		}
		entry.value.push(key);
		if (entry.expiresAt !== undefined && (expiresAt === undefined || expiresAt > entry.expiresAt))
			entry.expiresAt = expiresAt;
	}

	async find(id) {
		return this.get(this.key(id));
	}

	async findByUserCode(userCode) {
		const id = this.get(`userCode:${userCode}`);
		return id === undefined ? undefined : this.find(id);
	}

	async findByUid(uid) {
		const id = this.get(`uid:${uid}`);
		return id === undefined ? undefined : this.find(id);
	}

	async consume(id) {
		const payload = this.get(this.key(id));
		if (payload)
			payload.consumed = Math.floor(Date.now() / 1000);
	}

	async destroy(id) {
		store.delete(this.key(id));
	}

	async revokeByGrantId(grantId) {
		const grantKey = `grant:${grantId}`;
		for (const key of this.get(grantKey) ?? [])
			store.delete(key);
		store.delete(grantKey);
	}
}

// An RS256 key made at start-up: 2048 bits, as idbridge's default.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

function resourceIndicators() {
	if (!opts.jwt)
		return { enabled: true };	// the default: no resource, opaque tokens
	return {
		enabled: true,
		defaultResource: () => RESOURCE,
		useGrantedResource: () => true,
		getResourceServerInfo: () => ({
			scope: 'api:read',
			audience: RESOURCE,
			accessTokenFormat: 'jwt',
			jwt: { sign: { alg: 'RS256' } },
		}),
	};
}

function configuration() {
	return {
		adapter: MemoryAdapter,
		clients: [{
			client_id: process.env.BENCH_CLIENT_ID,
			client_secret: process.env.BENCH_CLIENT_SECRET,
			token_endpoint_auth_method: 'client_secret_basic',
			grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
			response_types: ['code'],
			redirect_uris: [REDIRECT_URI],
			scope: 'openid offline_access api:read',
		}],
		scopes: ['openid', 'offline_access', 'api:read'],
		jwks: { keys: [jwk] },
		cookies: { keys: [randomBytes(32).toString('base64url')] },
		features: {
			clientCredentials: { enabled: true },
			introspection: { enabled: true },
			// The sign-in prepare.mjs drives to obtain a refresh token.
			devInteractions: { enabled: true },
			resourceIndicators: resourceIndicators(),
		},
		// Never rotate, so that a benchmark can replay one refresh token.
		rotateRefreshToken: () => false,
		findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
		ttl: {
			AccessToken: 600,
			ClientCredentials: 600,
			AuthorizationCode: 60,
			Grant: 86400,
			Interaction: 600,
			Session: 3600,
			RefreshToken: 86400,
		},
	};
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
	const { port } = server.address();
	const provider = new Provider(`http://127.0.0.1:${port}`, configuration());
	server.on('request', provider.callback());
	const portFile = join(opts.dir, 'port');
	writeFileSync(`${portFile}.tmp`, `${port}\n`);
	renameSync(`${portFile}.tmp`, portFile);
});

function stop() {
	server.close();
	server.closeAllConnections();
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
