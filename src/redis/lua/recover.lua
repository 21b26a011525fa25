--[[
  Recover a dead worker: each job in its in-flight list is put back at the head of its queue
  (at-least-once) or, in 'fail' mode or once it has killed workers more than the poison limit,
  recorded as a failure. A peer's worker (Ruby, php, node) has no in-flight list: the job in its
  `worker:<id>` record is treated the same way (the caller parsed the record; see ARGV[14..16]).
  Then the worker is unregistered as Ruby's unregister_worker does. One atomic step, so two
  recoverers cannot both requeue a job, and a tracked status never stays RUNNING (requeued: 1
  waiting, failed: 3 with the final-status TTL).

  A guard makes the pruner's decision atomic with the recovery: 'heartbeat' recovers only if the
  heartbeat is still the stale value the pruner saw; 'orphan' only if the worker is still not
  registered and its heartbeat unchanged. A worker that came back to life in between is left alone.

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
  KEYS[12] our workers hash              (<ns>:rw:workers)
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
  ARGV[12] guard: '', 'heartbeat' or 'orphan'
  ARGV[13] the heartbeat the guard expects ('' = none)
  ARGV[14] the worker record as the caller read it ('' = none); used only if it is still the same
           and the in-flight list is empty
  ARGV[15] the record's payload as JSON, or '' when the record could not be parsed
  ARGV[16] the record's queue, or ''
  Returns {requeued, failed, skipped (1 when the guard no longer holds)}.
]]
-- @include worker-record
-- @include status-key
-- @include job-status

local worker_id, mode, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = ARGV[7]
local requeued, failed = 0, 0

local guard, seen_beat = ARGV[12], ARGV[13]
if guard ~= '' then
  local beat = redis.call('HGET', KEYS[5], worker_id) or ''
  if beat ~= seen_beat then return {0, 0, 1} end
  if guard == 'orphan' and redis.call('SISMEMBER', KEYS[3], worker_id) == 1 then return {0, 0, 1} end
end

local function set_status(decoded, code)
  local key = set_job_status(ARGV[5], decoded, code, now)
  -- A final status expires like the worker's own (worker.statusTtl).
  if key and code == 3 then redis.call('EXPIRE', key, ARGV[11]) end
end

local function fail(payload_json, queue, exception, message)
  redis.call('RPUSH', KEYS[10], '{"failed_at":' .. cjson.encode(ARGV[8]) ..
    ',"payload":' .. payload_json ..
    ',"exception":' .. cjson.encode(exception) .. ',"error":' .. cjson.encode(message) ..
    ',"backtrace":[],"worker":' .. cjson.encode(worker_id) .. ',"queue":' .. cjson.encode(queue) .. '}')
  redis.call('INCR', KEYS[6])
  redis.call('INCR', KEYS[7])
  failed = failed + 1
end

-- {queue, payload} of every job the dead worker held; queue false for what cannot be read.
local jobs = {}
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #entries, 1, -1 do
  local entry = entries[i]
  local a = string.find(entry, '\0', 1, true)
  local b = a and string.find(entry, '\0', a + 1, true)
  local c = b and string.find(entry, '\0', b + 1, true)
  if c then
    local _, queue, payload = split_entry(entry)
    jobs[#jobs + 1] = { queue, payload }
  else
    jobs[#jobs + 1] = { false, entry }
  end
end
if #entries == 0 and ARGV[14] ~= '' and redis.call('GET', KEYS[2]) == ARGV[14] then
  if ARGV[15] ~= '' and ARGV[16] ~= '' then
    jobs[#jobs + 1] = { ARGV[16], ARGV[15] }
  else
    jobs[#jobs + 1] = { false, ARGV[14] }
  end
end

for _, job in ipairs(jobs) do
  local queue, payload = job[1], job[2]
  if not queue then
    -- Unreadable: nothing to requeue, but never dropped: the raw text goes to the failed list.
    fail(cjson.encode(payload), '', 'DirtyExit',
      ARGV[10] .. '; its in-flight record could not be read, kept here as text')
  else
    local ok, decoded = pcall(cjson.decode, payload)
    local valid = ok and type(decoded) == 'table'
    local job_key = ARGV[6] .. ((valid and type(decoded.id) == 'string') and decoded.id or redis.sha1hex(payload))
    local times = redis.call('INCR', job_key)
    redis.call('EXPIRE', job_key, 86400)
    if mode == 'requeue' and times <= limit then
      redis.call('LPUSH', ARGV[4] .. queue, payload)
      if valid then set_status(decoded, 1) end
      requeued = requeued + 1
    else
      local exception, message = ARGV[9], ARGV[10]
      if mode == 'requeue' then
        exception = 'PoisonJob'
        message = 'job was in flight on ' .. times .. ' workers that died (limit ' .. limit .. '), not retried again; last: ' .. ARGV[10]
      end
      fail(valid and payload or cjson.encode(payload), queue, exception, message)
      if valid then set_status(decoded, 3) end
    end
  end
end

redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[8], KEYS[9], KEYS[11])
redis.call('SREM', KEYS[3], worker_id)
redis.call('HDEL', KEYS[5], worker_id)
redis.call('HDEL', KEYS[12], worker_id)
return {requeued, failed, 0}
