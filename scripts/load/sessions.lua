-- wrk script: each thread builds a pool of sessions, then spreads its requests over them.
-- Arguments (after --): <path that creates/increments a session> <path to measure> <sessions per thread>
-- The first <sessions> requests of a thread go to the creating path without a cookie; the Set-Cookie
-- of each response joins the pool. Later requests carry a pooled cookie, round robin.

local create_path, measure_path, wanted
local cookies = {}
local next_index = 0
local creating = 0

function init(args)
  create_path = args[1] or "/inc"
  measure_path = args[2] or create_path
  wanted = tonumber(args[3] or "64")
end

function request()
  if #cookies + creating < wanted then
    creating = creating + 1
    return wrk.format("GET", create_path)
  end
  if #cookies == 0 then
    return wrk.format("GET", create_path)
  end
  next_index = next_index % #cookies + 1
  return wrk.format("GET", measure_path, { ["Cookie"] = cookies[next_index] })
end

function response(status, headers, body)
  local set_cookie = headers["Set-Cookie"] or headers["set-cookie"]
  if set_cookie ~= nil then
    creating = creating - 1
    cookies[#cookies + 1] = string.match(set_cookie, "^([^;]+)")
  end
end
