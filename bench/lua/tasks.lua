-- The tasks service's hot paths, rotating over many users' real tokens.
-- Args: MODE (list | changes | one | create | patch | complete | move) DATA_FILE [QUERY], where each line
-- of DATA_FILE is "user_id<TAB>access_token<TAB>task_id" (a task that user owns), and QUERY is the
-- query string of the list or of the change feed ("?limit=20" unless given).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local prepared = {}
local counter = 0

local function prepare(mode, user_id, token, task_id, query)
   local headers = { ["Authorization"] = "Bearer " .. token }
   local base = "/api/" .. user_id .. "/tasks"
   if mode == "list" then
      return wrk.format("GET", base .. query, headers)
   elseif mode == "changes" then
      return wrk.format("GET", "/api/" .. user_id .. "/changes" .. query, headers)
   elseif mode == "one" then
      return wrk.format("GET", base .. "/" .. task_id, headers)
   elseif mode == "create" then
      headers["Content-Type"] = "application/json"
      return wrk.format("POST", base, headers,
         '{"title": "bench task", "description": "created under load"}')
   elseif mode == "patch" then
      headers["Content-Type"] = "application/json"
      return wrk.format("PATCH", base .. "/" .. task_id, headers,
         '{"title": "patched under load", "completed": true}')
   elseif mode == "complete" then
      headers["Content-Type"] = "application/json"
      return wrk.format("PATCH", base .. "/" .. task_id .. "/complete", headers,
         '{"completed": true}')
   elseif mode == "move" then
      headers["Content-Type"] = "application/json"
      return wrk.format("POST", base .. "/" .. task_id .. "/move", headers, "{}")
   end
   error("unknown mode " .. tostring(mode))
end

function init(args)
   for _, row in ipairs(read_rows(args[2])) do
      prepared[#prepared + 1] = prepare(args[1], row[1], row[2], row[3], args[3] or "?limit=20")
   end
   counter = ((thread_id or 1) - 1) * 7919
end

function request()
   counter = counter + 1
   return prepared[counter % #prepared + 1]
end
