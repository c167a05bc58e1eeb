-- wrk script: each thread builds a pool of sessions, then spreads its requests over them.
-- Arguments (after --): <path that creates/increments a session> <path to measure> <sessions per thread>
-- The first <sessions> requests of a thread go to the creating path without a cookie; the Set-Cookie
-- of each response joins the pool. Later requests carry a pooled cookie, round robin.
-- paced.lua, pingpong.lua and cold.lua build on it: the pool is the global table `pool`, and the headers of
-- a pooled request come from headers_for(index), which they may replace.

pool = { cookies = {}, next_index = 0, creating = 0, wanted = 64, create_path = "/inc", measure_path = "/inc" }

function init(args)
  pool.create_path = args[1] or "/inc"
  pool.measure_path = args[2] or pool.create_path
  pool.wanted = tonumber(args[3] or "64")
end

function headers_for(index)
  return { ["Cookie"] = pool.cookies[index] }
end

function request()
  if #pool.cookies + pool.creating < pool.wanted then
    pool.creating = pool.creating + 1
    return wrk.format("GET", pool.create_path)
  end
  if #pool.cookies == 0 then
    return wrk.format("GET", pool.create_path)
  end
  pool.next_index = pool.next_index % #pool.cookies + 1
  return wrk.format("GET", pool.measure_path, headers_for(pool.next_index))
end

function response(status, headers, body)
  local set_cookie = headers["Set-Cookie"] or headers["set-cookie"]
  if set_cookie ~= nil then
    pool.creating = pool.creating - 1
    pool.cookies[#pool.cookies + 1] = string.match(set_cookie, "^([^;]+)")
  end
end
