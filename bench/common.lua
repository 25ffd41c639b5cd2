-- bench/common.lua: what bench/*.lua share (loaded with dofile from the
-- script's own directory).
--
-- * POST bodies as a confidential client (client_secret_basic).
-- * Work queues for requests that consume something (a refresh token, a
--   code) or chain (a sign-in): wrk calls request() when a connection is
--   ready to send and response() when one has answered, without saying which
--   connection.  Each response() pushes the next piece of work on the
--   thread's queue and request() pops one, so no item is used twice and
--   the work in flight stays one item per connection.
-- * Counts of the work done, gathered from every thread in done() and
--   written to BENCH_STATS ("key value" lines) for bench/run: the rate of a
--   run whose supply ran out (then the thread stops: wrk's own rate would
--   divide by the whole duration), and the latency of a multi-request flow.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")

-- Monotonic seconds.
function bench_now()
	ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
	return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

-- Form encoding and required variables, as the peer scripts have them.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "peers/peer-common.lua")
bench_urlencode = peer_urlencode
bench_env = peer_env

-- Headers of a form POST as a client: PREFIX_BASIC (default prefix
-- BENCH_CLIENT) is its client_secret_basic credential, made by bench/run.
function bench_client_headers(prefix)
	return {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Authorization"] = "Basic " .. bench_env((prefix or "BENCH_CLIENT") .. "_BASIC"),
	}
end

-- A distinct client address per flow, as the reverse proxy in front of
-- idbridge reports it (bench/run trusts 127.0.0.1 as a proxy): many users,
-- not one address with 32 sign-ins in flight, which the per-address cap of
-- the auth pool would refuse.
local addr_n = 0
function bench_next_addr()
	addr_n = addr_n + 1
	local n = (bench_thread_id or 0) * 65536 + addr_n % 65536
	return string.format("10.%d.%d.%d", 64 + math.floor(n / 65536) % 64,
	    math.floor(n / 256) % 256, n % 256)
end

-- ---- per-thread set-up, in wrk's main state --------------------------------

local threads = {}
local next_id = 0

function setup(thread)
	thread:set("bench_thread_id", next_id)
	next_id = next_id + 1
	threads[#threads + 1] = thread
end

-- The lines of BENCH_POOL this thread takes: every Nth, N the wrk threads.
function bench_pool_lines()
	local id, n, i = bench_thread_id, tonumber(bench_env("BENCH_WRK_THREADS")), 0
	local mine = {}
	for line in io.lines(bench_env("BENCH_POOL")) do
		if line ~= "" then
			if i % n == id then
				mine[#mine + 1] = line
			end
			i = i + 1
		end
	end
	return mine
end

-- ---- a FIFO -------------------------------------------------------------------

function bench_queue()
	return { first = 1, last = 0 }
end

function bench_push(q, v)
	q.last = q.last + 1
	q[q.last] = v
end

function bench_pop(q)
	if q.first > q.last then
		return nil
	end
	local v = q[q.first]
	q[q.first] = nil
	q.first = q.first + 1
	return v
end

-- ---- counting -------------------------------------------------------------------

bench_ok = 0          -- units of work done (a token, a sign-in)
bench_failed = 0      -- units that ended in an unexpected answer
bench_exhausted = 0   -- 1 once this thread ran out of supply
bench_t_first = 0
bench_t_last = 0
bench_lat = {}        -- milliseconds of each unit, when a unit is several requests

function bench_started()
	if bench_t_first == 0 then
		bench_t_first = bench_now()
	end
end

function bench_done_unit(started)
	bench_ok = bench_ok + 1
	bench_t_last = bench_now()
	if started ~= nil then
		bench_lat[#bench_lat + 1] = (bench_t_last - started) * 1000
	end
end

-- Out of supply: stop this thread (its last requests are not waited for).
function bench_run_dry()
	bench_exhausted = 1
	bench_t_last = math.max(bench_t_last, bench_now())
	wrk.thread:stop()
end

function done(summary, latency, requests)
	local path = os.getenv("BENCH_STATS")
	if path == nil or path == "" then
		return
	end
	local ok, failed, exhausted, t0, t1, lat = 0, 0, 0, math.huge, 0, {}
	for _, t in ipairs(threads) do
		ok = ok + (t:get("bench_ok") or 0)
		failed = failed + (t:get("bench_failed") or 0)
		exhausted = math.max(exhausted, t:get("bench_exhausted") or 0)
		local a, b = t:get("bench_t_first") or 0, t:get("bench_t_last") or 0
		if a > 0 then t0 = math.min(t0, a) end
		t1 = math.max(t1, b)
		for _, v in ipairs(t:get("bench_lat") or {}) do
			lat[#lat + 1] = v
		end
	end
	table.sort(lat)
	local f = assert(io.open(path, "w"))
	f:write(string.format("ok %d\nfailed %d\nexhausted %d\n", ok, failed, exhausted))
	f:write(string.format("duration %.6f\n", summary.duration / 1e6))
	if t0 < math.huge and t1 > t0 then
		f:write(string.format("active %.6f\n", t1 - t0))
	end
	if #lat > 0 then
		f:write(string.format("p50_ms %.3f\np99_ms %.3f\n", lat[math.floor(#lat * 0.5) + 1],
		    lat[math.min(#lat, math.floor(#lat * 0.99) + 1)]))
	end
	f:close()
end
