--[[
  Recover a dead worker: each job in its in-flight list is put back at the head of its queue
  (at-least-once) or, in 'fail' mode or once it has killed workers more than the poison limit,
  recorded as a failure. Then the worker is unregistered as Ruby's unregister_worker does. One
  atomic step, so two recoverers cannot both requeue a job, and a tracked status never stays
  RUNNING (requeued: 1 waiting, failed: 3 with the final-status TTL).

  KEYS[1]  in-flight list                (<ns>:worker:<id>:inflight)
  KEYS[2]  worker record                 (<ns>:worker:<id>)
  KEYS[3]  workers set                   (<ns>:workers)
  KEYS[4]  worker started                (<ns>:worker:<id>:started)
  KEYS[5]  heartbeats hash               (<ns>:workers:heartbeat)
  KEYS[6]  stat:processed
  KEYS[7]  stat:failed
  KEYS[8]  stat:processed:<id>
  KEYS[9]  stat:failed:<id>
  KEYS[10] failed list
  KEYS[11] last reservation token        (<ns>:worker:<id>:last-reserve)
  ARGV[1]  worker id
  ARGV[2]  mode: 'requeue' or 'fail'
  ARGV[3]  poison limit: a job recovered more often than this is failed instead
  ARGV[4]  queue key prefix              (<ns>:queue:)
  ARGV[5]  status key prefix             (<ns>:job:)
  ARGV[6]  recovery counter key prefix   (<ns>:rw:recovered:)
  ARGV[7]  now, unix seconds
  ARGV[8]  failed_at, Ruby format
  ARGV[9]  exception name for a failure
  ARGV[10] error message for a failure
  ARGV[11] final status TTL, seconds
  Returns {requeued, failed}.
]]
-- @include worker-record

local worker_id, mode, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = ARGV[7]
local requeued, failed = 0, 0

local function set_status(decoded, code)
  if not (type(decoded) == 'table' and type(decoded.id) == 'string') then return end
  local prefix = (type(decoded.prefix) == 'string' and decoded.prefix ~= '') and (decoded.prefix .. '_') or ''
  local key = ARGV[5] .. prefix .. decoded.id .. ':status'
  local current = redis.call('GET', key)
  if not current then return end
  local ok, old = pcall(cjson.decode, current)
  local started = (ok and type(old) == 'table' and old.started) or tonumber(now)
  redis.call('SET', key, '{"status":' .. code .. ',"updated":' .. now .. ',"started":' .. cjson.encode(started) .. ',"result":null}')
  if code == 3 then redis.call('EXPIRE', key, ARGV[11]) end
end

local entries = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #entries, 1, -1 do
  local _, queue, payload = split_entry(entries[i])
  local ok, decoded = pcall(cjson.decode, payload)
  local valid = ok and type(decoded) == 'table'
  local job_key = ARGV[6] .. ((valid and type(decoded.id) == 'string') and decoded.id or redis.sha1hex(payload))
  local times = redis.call('INCR', job_key)
  redis.call('EXPIRE', job_key, 86400)
  local exception, message = ARGV[9], ARGV[10]
  if mode == 'requeue' and times > limit then
    exception = 'PoisonJob'
    message = 'job was in flight on ' .. times .. ' workers that died (limit ' .. limit .. '), not retried again; last: ' .. ARGV[10]
  end
  if mode == 'requeue' and times <= limit then
    redis.call('LPUSH', ARGV[4] .. queue, payload)
    if valid then set_status(decoded, 1) end
    requeued = requeued + 1
  else
    redis.call('RPUSH', KEYS[10], '{"failed_at":' .. cjson.encode(ARGV[8]) ..
      ',"payload":' .. (valid and payload or cjson.encode(payload)) ..
      ',"exception":' .. cjson.encode(exception) .. ',"error":' .. cjson.encode(message) ..
      ',"backtrace":[],"worker":' .. cjson.encode(worker_id) .. ',"queue":' .. cjson.encode(queue) .. '}')
    redis.call('INCR', KEYS[6])
    redis.call('INCR', KEYS[7])
    if valid then set_status(decoded, 3) end
    failed = failed + 1
  end
end

redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[8], KEYS[9], KEYS[11])
redis.call('SREM', KEYS[3], worker_id)
redis.call('HDEL', KEYS[5], worker_id)
return {requeued, failed}
