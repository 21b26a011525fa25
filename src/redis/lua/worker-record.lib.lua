-- Shared by the scripts that include it with `-- @include worker-record`.
-- Writes Ruby's in-flight record `{"queue","run_at","payload","worker"}` for an in-flight entry
-- '<token>\0<run_at>\0<queue>\0<payload>'. The payload is embedded as-is (byte-exact, as peers
-- wrote it) when it is a JSON object, and as a JSON string when it is not, so the record always
-- parses for resque-web and friends. `worker` is node-resque's field, so it holds what node-resque
-- writes there: the worker's name `<host>:<pid>`, without the queues. node's allWorkingOn() files
-- the record under that name and cleanOldWorkers() cleans a worker by it; the full id there made
-- allWorkingOn() list a busy worker as idle plus a phantom, and cleanOldWorkers() fail. Ruby and
-- php do not read the field.
-- run_at, queue, payload of an entry; nil for one without its three separators (not written by
-- reserve or enqueue: damaged data, which callers leave in flight for recover.lua to keep as text).
local function split_entry(entry)
  local a = string.find(entry, '\0', 1, true)
  local b = a and string.find(entry, '\0', a + 1, true)
  local c = b and string.find(entry, '\0', b + 1, true)
  if not c then return nil end
  return string.sub(entry, a + 1, b - 1), string.sub(entry, b + 1, c - 1), string.sub(entry, c + 1)
end

-- The record from its fields: queue and run_at as JSON strings, the payload as the JSON object it
-- is (or as a JSON string when it is not an object), and the worker's id `<host>:<pid>:<queues>`.
local function worker_record_json(queue_json, run_at_json, payload_json, worker_id)
  return '{"queue":' .. queue_json .. ',"run_at":' .. run_at_json .. ',"payload":' .. payload_json ..
    ',"worker":' .. cjson.encode(string.match(worker_id, '^[^:]*:[^:]*')) .. '}'
end

local function set_worker_record(key, worker_id, entry)
  local run_at, queue, payload = split_entry(entry)
  if not run_at then
    redis.call('DEL', key) -- nothing readable to show
    return
  end
  local ok, decoded = pcall(cjson.decode, payload)
  if not ok or type(decoded) ~= 'table' then payload = cjson.encode(payload) end
  redis.call('SET', key, worker_record_json(cjson.encode(queue), cjson.encode(run_at), payload, worker_id))
end
