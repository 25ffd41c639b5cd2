-- bench/peers/peer-introspect.lua: RFC 7662 introspection of one access token,
-- the client authenticating with client_secret_basic.
-- Env: PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_ACCESS_TOKEN.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "peer-common.lua")

peer_post("token=" .. peer_urlencode(peer_env("PEER_ACCESS_TOKEN")))
