-- bench/peers/peer-client-credentials.lua: the client_credentials grant.
-- Env: PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_SCOPE (optional: the
-- "client_credentials_scope" a peer script printed).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "peer-common.lua")

local body = "grant_type=client_credentials"
local scope = os.getenv("PEER_SCOPE")
if scope ~= nil and scope ~= "" then
	body = body .. "&scope=" .. peer_urlencode(scope)
end
peer_post(body)
