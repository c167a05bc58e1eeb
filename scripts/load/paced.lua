-- wrk script: sessions.lua with a fixed pause before each request of a connection, so every stack meets
-- the same offered load (about connections / (pause + latency) requests per second) instead of its own
-- saturation point. Latency at saturation is mostly queueing (connections / throughput); at an equal,
-- moderate load it is the time the stack itself adds.
-- Arguments (after --): as sessions.lua, then <pause in milliseconds>

dofile("scripts/load/sessions.lua")

local pause_ms = 15
local sessions_init = init

function init(args)
  sessions_init(args)
  pause_ms = tonumber(args[4] or "15")
end

function delay()
  return pause_ms
end
