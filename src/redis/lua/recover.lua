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

  Bad data in Redis never stops a call part-way: Redis keeps a script's writes made before an
  error, and each retry would requeue the jobs before that point again and count them once more
  towards the poison limit. A job whose queue key is not a list is failed as requeue.lua fails it
  (QueueNotAList, naming the key). A status key of the wrong type is left as it is, and so is a
  counter that cannot be incremented (a job whose recovery count cannot be kept goes back). A job
  the failed list cannot take (not a list) stays in flight, never dropped, while the others are
  recovered; only the entries handled then leave the in-flight list (what the worker's
  registration keeps is explained at the end). All of these are logged by Redis. Redis refusing
  writes (OOM, MISCONF, READONLY) refuses the first one: the error goes to the caller, nothing
  written.

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
  KEYS[13] queues set                    (<ns>:queues): a requeued job's queue is added again
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
  Returns {requeued, failed, skipped (1 when the guard no longer holds)}, a job that stays in
  flight counting in neither, then 3 values per job recovered, for its log line: 'requeued' or the
  exception it failed with, its queue ('' when unreadable), its payload (or the unreadable text).
]]
-- @include worker-record
-- @include script-errors
-- @include failure-record
-- @include status-key
-- @include job-status

local worker_id, mode, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = ARGV[7]
local requeued, failed = 0, 0
local reply = { 0, 0, 0 } -- counts, filled in at the end; then what became of each job

local guard, seen_beat = ARGV[12], ARGV[13]
if guard ~= '' then
  local beat = redis.call('HGET', KEYS[5], worker_id) or ''
  if beat ~= seen_beat then return {0, 0, 1} end
  if guard == 'orphan' and redis.call('SISMEMBER', KEYS[3], worker_id) == 1 then return {0, 0, 1} end
end

-- A status key of the wrong type is skipped (logged) by set_job_status: the status is not worth
-- the job.
local function set_status(decoded, code)
  local key = set_job_status(ARGV[5], decoded, code, now)
  -- A final status expires like the worker's own (worker.statusTtl).
  if key and code == 3 then redis.call('EXPIRE', key, ARGV[11]) end
end

-- true once the failure is recorded; false (logged) when the failed list is not a list, and the
-- job stays where it is; or the error of a Redis refusing writes.
local function fail(payload_json, queue, exception, message)
  local recorded = redis.pcall('RPUSH', KEYS[10],
    failure_record_json(ARGV[8], payload_json, exception, message, worker_id, queue))
  if is_error(recorded) then
    if not wrong_type(recorded) then return recorded end
    warn('recover', 'a job of ' .. worker_id .. ' stays in flight (' .. exception .. ': ' .. message .. '): ' ..
      KEYS[10] .. ': ' .. recorded.err)
    return false
  end
  -- Written after the job it counts: a counter of the wrong type must not stop the rest.
  best_effort('recover', 'INCR', KEYS[6])
  best_effort('recover', 'INCR', KEYS[7])
  failed = failed + 1
  return true
end

-- {queue, payload, in-flight entry} of every job the dead worker held; queue false for what cannot
-- be read, entry false for the job in a peer's worker record.
local jobs = {}
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #entries, 1, -1 do
  local entry = entries[i]
  local _, queue, payload = split_entry(entry)
  if queue then
    jobs[#jobs + 1] = { queue, payload, entry }
  else
    jobs[#jobs + 1] = { false, entry, entry }
  end
end
if #entries == 0 and ARGV[14] ~= '' and redis.call('GET', KEYS[2]) == ARGV[14] then
  if ARGV[15] ~= '' and ARGV[16] ~= '' then
    jobs[#jobs + 1] = { ARGV[16], ARGV[15], false }
  else
    jobs[#jobs + 1] = { false, ARGV[14], false }
  end
end

-- No key of the wrong type may raise on the way (see the header): each job is requeued or
-- recorded as failed, or stays in flight, and only then is anything removed.
local handled, left = {}, 0
for _, job in ipairs(jobs) do
  local queue, payload, entry = job[1], job[2], job[3]
  local done, done_as
  if not queue then
    -- Unreadable: nothing to requeue, but never dropped: the raw text goes to the failed list.
    done = fail(json_string(payload), '', 'DirtyExit',
      ARGV[10] .. '; its in-flight record could not be read, kept here as text')
    done_as = 'DirtyExit'
  else
    local ok, decoded = pcall(cjson.decode, payload)
    local valid = ok and type(decoded) == 'table'
    local job_key = ARGV[6] .. ((valid and type(decoded.id) == 'string') and decoded.id or redis.sha1hex(payload))
    local times = redis.pcall('INCR', job_key)
    if not is_error(times) then
      redis.call('EXPIRE', job_key, 86400)
    elseif wrong_type(times) or string.sub(times.err, 1, 4) == 'ERR ' then
      -- Not a counter (say not an integer): the job goes back rather than fail as poison unseen.
      warn('recover', 'INCR ' .. job_key .. ': ' .. times.err)
      times = nil
    else
      return times
    end
    local exception, message
    if mode == 'requeue' and (times == nil or times <= limit) then
      local queue_key = ARGV[4] .. queue
      local pushed = redis.pcall('LPUSH', queue_key, payload)
      if not is_error(pushed) then
        -- As Resque's push: a queue removed meanwhile would hide the job from `*` workers and tools.
        best_effort('recover', 'SADD', KEYS[13], queue)
        if valid then set_status(decoded, 1) end
        requeued = requeued + 1
        done = true
        done_as = 'requeued'
      elseif not wrong_type(pushed) then
        return pushed
      else
        -- As requeue.lua does: seen in resque-web, and retried from there once the key is repaired.
        -- Left in flight it would only meet the same key at every recovery.
        exception = 'QueueNotAList'
        message = 'could not be put back on its queue: ' .. queue_key .. ' is a ' ..
          redis.call('TYPE', queue_key).ok .. ', not a list; ' .. ARGV[10]
      end
    else
      exception, message = ARGV[9], ARGV[10]
      if mode == 'requeue' then
        exception = 'PoisonJob'
        message = 'job was in flight on ' .. times .. ' workers that died (limit ' .. limit .. '), not retried again; last: ' .. ARGV[10]
      end
    end
    if exception then
      done = fail(valid and payload or json_string(payload), queue, exception, message)
      done_as = exception
      if done == true then
        if exception == 'QueueNotAList' then warn('recover', 'job failed: ' .. message) end
        if valid then set_status(decoded, 3) end
      end
    end
    -- Not recovered, so not counted: retries while the failed list is broken must not make it
    -- a PoisonJob.
    if done == false and times then best_effort('recover', 'DECR', job_key) end
  end
  if is_error(done) then return done end
  if done then
    if entry then handled[#handled + 1] = entry end
    reply[#reply + 1] = done_as
    reply[#reply + 1] = queue or ''
    reply[#reply + 1] = payload
  else
    left = left + 1
  end
end

if left == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[8], KEYS[9], KEYS[11])
elseif #entries == 0 then
  -- The job of a peer's worker record stays: with no in-flight list to lead the pruner back, the
  -- worker is left as it was (registered, record and heartbeat unchanged), so the pruner's
  -- heartbeat rule finds it again on its next run.
  reply[1], reply[2] = requeued, failed
  return reply
else
  -- Only the entries handled leave the in-flight list. The worker is still unregistered in full:
  -- it is dead, and kept registered it would look alive (resque-web, Ruby's Resque.workers), and
  -- a Ruby peer's prune, seeing its stale heartbeat, would fail the job from its record while it
  -- is still in this list. An unregistered worker with no heartbeat and no mark but an in-flight
  -- list is what the pruner's orphan rule looks for: it tries again, under the orphan guard, on
  -- each run until the failed list is repaired. A worker started with the same id first recovers
  -- them too, then owns what is still left (put back at its stop). The record shows the head of
  -- the list, as after requeue.lua and finish.lua.
  for _, entry in ipairs(handled) do redis.call('LREM', KEYS[1], 1, entry) end
  local head = redis.call('LINDEX', KEYS[1], 0)
  if head then
    set_worker_record(KEYS[2], worker_id, head) -- drops the record if the head is unreadable
  else
    redis.call('DEL', KEYS[2])
  end
  redis.call('DEL', KEYS[4], KEYS[8], KEYS[9], KEYS[11])
end
redis.call('SREM', KEYS[3], worker_id)
redis.call('HDEL', KEYS[5], worker_id)
redis.call('HDEL', KEYS[12], worker_id)
reply[1], reply[2] = requeued, failed
return reply
