-- bench/peers/peer-refresh.lua: the refresh_token grant, replaying one token
-- (the peers are set up not to rotate refresh tokens).
-- Env: PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_REFRESH_TOKEN.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "peer-common.lua")

peer_post("grant_type=refresh_token&refresh_token=" .. peer_urlencode(peer_env("PEER_REFRESH_TOKEN")))
