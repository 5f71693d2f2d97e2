-- Helpers shared by the wrk scripts: reading the harness's data files and reporting.

next_thread_id = 0

-- Runs in wrk's main Lua state once per thread: number the threads so each starts at its
-- own place in the rotation over users.
function setup(thread)
   next_thread_id = next_thread_id + 1
   thread:set("thread_id", next_thread_id)
end

function read_rows(path)
   local rows = {}
   for line in io.lines(path) do
      if line ~= "" then
         local fields = {}
         for field in line:gmatch("[^\t]+") do
            fields[#fields + 1] = field
         end
         rows[#rows + 1] = fields
      end
   end
   if #rows == 0 then
      error("no rows in " .. path)
   end
   return rows
end

-- One machine-readable line the harness parses (latencies in microseconds).
function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
      '"write": %d, "status": %d, "timeout": %d, "p50_us": %.0f, "p99_us": %.0f, ' ..
      '"max_us": %.0f}\n',
      summary.requests, summary.duration, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, latency:percentile(50), latency:percentile(99),
      latency.max))
end
