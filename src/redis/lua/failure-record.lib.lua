-- Shared by the scripts that include it with `-- @include failure-record`.

-- Ruby's Resque::Failure::Redis record, for a job a script fails itself (it could not requeue it):
-- `payload_json` is the payload as JSON (the job's own bytes when they are a JSON object), the
-- other fields plain strings.
local function failure_record_json(failed_at, payload_json, exception, message, worker, queue)
  return '{"failed_at":' .. cjson.encode(failed_at) .. ',"payload":' .. payload_json ..
    ',"exception":' .. cjson.encode(exception) .. ',"error":' .. cjson.encode(message) ..
    ',"backtrace":[],"worker":' .. cjson.encode(worker) .. ',"queue":' .. cjson.encode(queue) .. '}'
end
