-- The auth service's bcrypt-bound paths.
-- Args: signup TAG PASSWORD  (a fresh email per request: bench-TAG-<thread>-<n>@example.com)
--       login EMAILS_FILE PASSWORD  (rotates over the seeded users' emails, one a line)

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local mode, tag, password
local emails = {}
local counter = 0

function init(args)
   mode, password = args[1], args[3]
   if mode == "signup" then
      tag = args[2]
   elseif mode == "login" then
      for _, row in ipairs(read_rows(args[2])) do
         emails[#emails + 1] = row[1]
      end
   else
      error("unknown mode " .. tostring(mode))
   end
   counter = ((thread_id or 1) - 1) * 7919
end

function request()
   counter = counter + 1
   local email
   if mode == "signup" then
      email = string.format("bench-%s-%d-%d@example.com", tag, thread_id or 1, counter)
   else
      email = emails[counter % #emails + 1]
   end
   local path = mode == "signup" and "/api/auth/signup" or "/api/auth/login"
   local body = string.format('{"email": "%s", "password": "%s"}', email, password)
   return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end
