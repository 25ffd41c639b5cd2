-- bench/refresh.lua: the refresh_token grant, honestly.  Refresh tokens
-- rotate and presenting a rotated one revokes its family, so no token is
-- sent twice: each thread starts from its share of BENCH_POOL (one live
-- refresh token per line, each of its own family, made by bench/prepare.py),
-- and every answer's new refresh_token goes back on the thread's queue for
-- the next request (common.lua).  A failed refresh ends its chain; when a
-- thread has no token left it stops, and bench/run reports the rate of the
-- time it ran.
-- Env: BENCH_CLIENT_BASIC, BENCH_POOL, BENCH_WRK_THREADS,
-- BENCH_STATS.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

local queue, headers

function init(args)
	queue = bench_queue()
	for _, t in ipairs(bench_pool_lines()) do
		bench_push(queue, t)
	end
	headers = bench_client_headers()
end

function request()
	bench_started()
	local t = bench_pop(queue)
	if t == nil then
		bench_run_dry()
		return wrk.format("GET", "/livez")
	end
	headers["X-Forwarded-For"] = bench_next_addr()
	return wrk.format("POST", nil, headers,
	    "grant_type=refresh_token&refresh_token=" .. bench_urlencode(t))
end

function response(status, hdrs, body)
	local t = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
	if t then
		bench_push(queue, t)
		bench_done_unit()
	elseif not body:match('"status"') then  -- not the /livez of a thread run dry
		bench_failed = bench_failed + 1
	end
end
