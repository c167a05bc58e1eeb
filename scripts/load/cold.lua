-- wrk script: sessions.lua over a pool too large for any session to come back soon (the cold mode of the
-- lease measurements). Creating that many sessions takes longer than a measured run, so the warm-up run creates
-- them and writes each thread's cookies to <prefix>-<thread>.txt (every thousand, and when the pool is full: a
-- creating request that timed out never joins it); the measured run reads them back and only spreads its requests
-- over them.
-- Arguments (after --): as sessions.lua, then <file prefix>.

dofile("scripts/load/sessions.lua")

local thread_count = 0
local sessions_init = init
local sessions_response = response
local file, saved, written = nil, false, 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

function init(args)
  sessions_init(args)
  file = args[4] .. "-" .. thread_id .. ".txt"
  local existing = io.open(file, "r")
  if existing ~= nil then
    for line in existing:lines() do
      pool.cookies[#pool.cookies + 1] = line
    end
    existing:close()
    saved = true
    pool.wanted = #pool.cookies
  end
end

local function save()
  local out = io.open(file, "w")
  out:write(table.concat(pool.cookies, "\n"), "\n")
  out:close()
  written = #pool.cookies
end

function response(status, headers, body)
  sessions_response(status, headers, body)
  if not saved and (#pool.cookies >= pool.wanted or #pool.cookies >= written + 1000) then
    save()
    saved = #pool.cookies >= pool.wanted
  end
end
