-- bench/code.lua: the authorization_code exchange.  Codes are single-use:
-- each request takes the next of this thread's share of BENCH_POOL (codes
-- minted just before the run by mint.lua).  When a thread has none left it
-- stops, and bench/run reports the rate of the time it ran and how many
-- exchanges were made.
-- Env: BENCH_CLIENT_BASIC, BENCH_REDIRECT_URI, BENCH_POOL,
-- BENCH_WRK_THREADS, BENCH_STATS.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

local codes, next_code, headers, tail

function init(args)
	codes = bench_pool_lines()
	next_code = 1
	headers = bench_client_headers()
	tail = "&redirect_uri=" .. bench_urlencode(bench_env("BENCH_REDIRECT_URI"))
end

function request()
	bench_started()
	local c = codes[next_code]
	if c == nil then
		bench_run_dry()
		return wrk.format("GET", "/livez")
	end
	next_code = next_code + 1
	headers["X-Forwarded-For"] = bench_next_addr()
	return wrk.format("POST", nil, headers,
	    "grant_type=authorization_code&code=" .. bench_urlencode(c) .. tail)
end

function response(status, hdrs, body)
	if status == 200 and body:match('"access_token"') then
		bench_done_unit()
	elseif not body:match('"status"') then
		bench_failed = bench_failed + 1
	end
end
