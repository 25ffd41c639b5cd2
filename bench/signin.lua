-- bench/signin.lua: complete sign-ins, as a browser and its client make
-- them: GET /authorize (the login page: a pre-auth cookie and the CSRF
-- token), POST /authorize (the password: a session cookie and a redirect),
-- GET that redirect (a code), POST /token (the code exchange).
--
-- wrk does not say which connection answered, so each answer alone
-- says what comes next: a login page gives the POST (its cookie and CSRF
-- token), a redirect with a session cookie gives the GET, a redirect with a
-- code gives the exchange, tokens count one sign-in and start the next.
-- That next step goes on the thread's queue and the next request() takes
-- it (common.lua): a sign-in may move between connections — HTTP keeps its
-- state in cookies — and as many sign-ins are in flight as connections.
-- Each request comes from its own client address (X-Forwarded-For) and
-- users take turns.  An unexpected answer ends that sign-in (failed) and a
-- new one starts.  The latency wrk prints is per request (four per sign-in).
-- Env: BENCH_USERS ("user:password ..."), BENCH_AUTHORIZE, BENCH_CLIENT_BASIC,
-- BENCH_REDIRECT_URI, BENCH_STATS.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")

local queue, users, next_user, authorize, token_headers, redirect_tail

function init(args)
	users = {}
	for u, p in bench_env("BENCH_USERS"):gmatch("([^%s:]+):(%S+)") do
		users[#users + 1] = { name = bench_urlencode(u), password = bench_urlencode(p) }
	end
	next_user = bench_thread_id or 0
	authorize = bench_env("BENCH_AUTHORIZE")
	token_headers = bench_client_headers()
	redirect_tail = "&redirect_uri=" .. bench_urlencode(bench_env("BENCH_REDIRECT_URI"))
	queue = bench_queue()
end

function request()
	bench_started()
	local s = bench_pop(queue) or { step = 1 }
	local h = { ["X-Forwarded-For"] = bench_next_addr() }
	if s.step == 1 then
		return wrk.format("GET", authorize, h)
	elseif s.step == 2 then
		next_user = next_user % #users + 1
		local u = users[next_user]
		h["Cookie"] = s.cookie
		h["Content-Type"] = "application/x-www-form-urlencoded"
		return wrk.format("POST", "/authorize", h, "username=" .. u.name ..
		    "&password=" .. u.password .. "&csrf=" .. bench_urlencode(s.csrf))
	elseif s.step == 3 then
		h["Cookie"] = s.cookie
		return wrk.format("GET", s.path, h)
	end
	for k, v in pairs(token_headers) do
		h[k] = v
	end
	return wrk.format("POST", "/token", h,
	    "grant_type=authorization_code&code=" .. s.code .. redirect_tail)
end

-- "name=value" of a Set-Cookie header that sets a value.
local function cookie_of(set)
	local c = set and set:match("^([^;]*)")
	if c and c:match("=.") then
		return c
	end
	return nil
end

-- What the answer asks for next, or nil when it is not a step of a sign-in.
local function next_step(status, hdrs, body)
	local loc = hdrs["Location"] or hdrs["location"]
	local set = cookie_of(hdrs["Set-Cookie"] or hdrs["set-cookie"])
	if status == 200 and body:match('"access_token"') then
		bench_done_unit()
		return { step = 1 }
	elseif status == 200 then
		local csrf = body:match('name="csrf"%s+value="([^"]*)"')
		if csrf and set then
			return { step = 2, cookie = set, csrf = csrf }
		end
	elseif status == 303 and loc then
		local code = loc:match("[?&]code=([^&]+)")
		if code then
			return { step = 4, code = code }
		end
		local path = loc:match("^https?://[^/]+(/.*)$") or loc
		if set and path:match("^/authorize%?") then
			return { step = 3, cookie = set, path = path }
		end
	end
	return nil
end

function response(status, hdrs, body)
	local s = next_step(status, hdrs, body)
	if s == nil then
		bench_failed = bench_failed + 1
		s = { step = 1 }
	end
	bench_push(queue, s)
end
