-- bench/peers/peer-common.lua: what the peer lua scripts share (loaded with
-- dofile from the script's own directory).  A confidential client's form POST
-- with client_secret_basic, from PEER_CLIENT_ID and PEER_CLIENT_SECRET.

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
	local out = {}
	for i = 1, #s, 3 do
		local a, b, c = s:byte(i, i + 2)
		local n = a * 65536 + (b or 0) * 256 + (c or 0)
		local k = {}
		for j = 3, 0, -1 do
			local v = math.floor(n / 64 ^ j) % 64
			k[#k + 1] = B64:sub(v + 1, v + 1)
		end
		if not b then k[3], k[4] = "=", "=" elseif not c then k[4] = "=" end
		out[#out + 1] = table.concat(k)
	end
	return table.concat(out)
end

-- application/x-www-form-urlencoded, which RFC 6749 2.3.1 also asks of the
-- id and secret inside the Basic credentials.
function peer_urlencode(s)
	return (s:gsub("[^%w%-%._~]", function(ch)
		return string.format("%%%02X", ch:byte())
	end))
end

function peer_env(name)
	local v = os.getenv(name)
	if v == nil or v == "" then
		error(name .. " is not set")
	end
	return v
end

-- Every request of the run is the same POST of BODY.
function peer_post(body)
	local id = peer_urlencode(peer_env("PEER_CLIENT_ID"))
	local secret = peer_urlencode(peer_env("PEER_CLIENT_SECRET"))
	wrk.method = "POST"
	wrk.body = body
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	wrk.headers["Authorization"] = "Basic " .. base64(id .. ":" .. secret)
end
