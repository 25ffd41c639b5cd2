-- bench/introspect.lua: POST /introspect (RFC 7662) of one live access
-- token, as a client with introspect = yes, client_secret_basic.
-- Env: BENCH_INTROSPECT_BASIC (the introspecting client),
-- BENCH_ACCESS_TOKEN.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

wrk.method = "POST"
wrk.body = "token=" .. bench_urlencode(bench_env("BENCH_ACCESS_TOKEN"))
for k, v in pairs(bench_client_headers("BENCH_INTROSPECT")) do
	wrk.headers[k] = v
end
