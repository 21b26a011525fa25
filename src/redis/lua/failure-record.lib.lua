-- Shared by the scripts that include it with `-- @include failure-record`.

-- A string as JSON text, byte for byte as JSON.stringify writes it. cjson also escapes '/' and DEL
-- ('\/', '\u007f': the same string once parsed), and node-resque finds a failure record to remove
-- or retry (LREM) by the bytes of JSON.stringify(the record it parsed): with every record's
-- failed_at ('2026/11/27 ...') it found none. A raw '/' is always escaped, so each '\/' is one; a
-- '\u007f' is one only after an odd run of backslashes (an even run is escaped backslashes).
local function json_string(s)
  local text = string.gsub(cjson.encode(s), '\\/', '/')
  text = string.gsub(text, '(\\+)u007f', function(run)
    if #run % 2 == 1 then return string.sub(run, 2) .. '\127' end
  end)
  return text
end

-- Ruby's Resque::Failure::Redis record, for a job a script fails itself (it could not requeue it):
-- `payload_json` is the payload as JSON (the job's own bytes when they are a JSON object, else
-- json_string of its text), the other fields plain strings.
local function failure_record_json(failed_at, payload_json, exception, message, worker, queue)
  return '{"failed_at":' .. json_string(failed_at) .. ',"payload":' .. payload_json ..
    ',"exception":' .. json_string(exception) .. ',"error":' .. json_string(message) ..
    ',"backtrace":[],"worker":' .. json_string(worker) .. ',"queue":' .. json_string(queue) .. '}'
end
