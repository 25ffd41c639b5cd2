-- bench/mix.lua: the hot paths in turn, for the memory run (many
-- connections): /verify with a JWT, an API key and a service secret,
-- /introspect, /jwks.json, /livez.  Without BENCH_ACCESS_TOKEN (the
-- ceiling) every request is the same GET.
-- Env: BENCH_ACCESS_TOKEN, BENCH_API_KEY, BENCH_SERVICE_SECRET,
-- BENCH_INTROSPECT_BASIC (the introspecting client).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

local reqs, n

function init(args)
	n = 0
	local jwt = os.getenv("BENCH_ACCESS_TOKEN")
	if jwt == nil or jwt == "" then
		reqs = { wrk.format("GET", "/") }
		return
	end
	local function bearer(t)
		return { ["Authorization"] = "Bearer " .. t }
	end
	reqs = {
		wrk.format("GET", "/verify?plugin=bench-oauth", bearer(jwt)),
		wrk.format("GET", "/verify?plugin=bench-keys", bearer(bench_env("BENCH_API_KEY"))),
		wrk.format("GET", "/verify?plugin=bench-service",
		    bearer(bench_env("BENCH_SERVICE_SECRET"))),
		wrk.format("POST", "/introspect", bench_client_headers("BENCH_INTROSPECT"),
		    "token=" .. bench_urlencode(jwt)),
		wrk.format("GET", "/jwks.json"),
		wrk.format("GET", "/livez"),
	}
end

function request()
	n = n + 1
	return reqs[n % #reqs + 1]
end
