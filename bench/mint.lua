-- bench/mint.lua: codes for code.lua.  GET /authorize with a signed-in
-- session cookie and a consent = skip client answers 303 with a fresh code;
-- each thread appends the codes it gets to BENCH_MINT_OUT.ID.
-- Env: BENCH_SESSION_COOKIE ("name=value"), BENCH_AUTHORIZE (the path and
-- query), BENCH_MINT_OUT.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

local out, headers, path

function init(args)
	out = assert(io.open(bench_env("BENCH_MINT_OUT") .. "." .. bench_thread_id, "w"))
	headers = { ["Cookie"] = bench_env("BENCH_SESSION_COOKIE") }
	path = bench_env("BENCH_AUTHORIZE")
end

function request()
	headers["X-Forwarded-For"] = bench_next_addr()
	return wrk.format("GET", path, headers)
end

function response(status, hdrs, body)
	local loc = hdrs["Location"] or hdrs["location"]
	local code = status == 303 and loc and loc:match("[?&]code=([^&]+)")
	if code then
		out:write(code, "\n")
		out:flush()
	end
end
