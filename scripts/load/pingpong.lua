-- wrk script: sessions.lua, with each session's requests alternating between two gateways. The front proxy
-- (SessionRouter.PeerStacks yarp with two backends) sends a request with X-Ping-Pong: 1 to the second gateway and
-- any other to the first; this script flips the header for a session at each of its requests.
-- Arguments (after --): as sessions.lua.

dofile("scripts/load/sessions.lua")

local turn = {}

function headers_for(index)
  turn[index] = not turn[index]
  return { ["Cookie"] = pool.cookies[index], ["X-Ping-Pong"] = turn[index] and "1" or "0" }
end
