--[[
  Record the outcome of finished jobs and only then drop them from the worker's in-flight list.
  An entry no longer in flight is skipped, so a re-sent call (lost reply) counts nothing twice.

  KEYS[1]  in-flight list of the worker  (<ns>:worker:<id>:inflight)
  KEYS[2]  worker record                 (<ns>:worker:<id>)
  KEYS[3]  stat:processed
  KEYS[4]  stat:failed
  KEYS[5]  stat:processed:<worker id>
  KEYS[6]  stat:failed:<worker id>
  KEYS[7]  failed list
  KEYS[8]  idle workers zset             (<ns>:rw:idle)
  KEYS[9]  delayed_queue_schedule        (<ns>:delayed_queue_schedule)
  ARGV[1]  worker id
  ARGV[2]  now, unix seconds
  ARGV[3]  status TTL in seconds for a final status
  ARGV[4]  job status key prefix         (<ns>:job:)
  ARGV[5]  values per job: 3, or 5 when a job of the call is retried (most calls hold none)
  ARGV[6]  key prefix                    (<ns>:), for a retry's delayed:<ts> and timestamps:<item>
  then per job i, at ARGV[7 + n(i-1)] for n values per job:
    in-flight entry | failure record JSON ('' for success) | perform's result as JSON ('' for none)
    [| retry: the unix second it is due ('' for none) | retry: the scheduled item]
  Returns the number of jobs recorded; when failures could not be (see below), a retry was not
  scheduled, or a retry was no longer in flight (recorded by an earlier call whose reply was lost:
  what it did is not known here), {that number, {positions of the failed jobs left in flight...},
  {positions of the retries whose failure was recorded instead...}, {positions of the retries no
  longer in flight...}}, positions 1-based in this call.

  A retry (a failed job with retries left, retry.ts) goes to resque-scheduler's delayed queue, in
  its layout, as ResqueClient.enqueueAt writes it: our scheduler puts it back on its queue when
  due. It counts as processed and failed (it ran and failed), writes no failure record, and a
  tracked job is waiting again. Should the schedule's keys be of the wrong type (checked before
  the job's first write), or another scheduler lead (see can_schedule), its failure record is
  written instead, as for a job with no retry left.

  A worker in the idle set gets its room back for each job recorded (ZADD XX INCR), so enqueue.lua
  hands the next job to the least busy idle worker. The score can only fall short of the room
  (enqueue.lua sets it to 0 to wait for a fresh count), never exceed it: each job recorded here was
  held when the score was last counted or was handed off since, which lowered it.

  The status key of a tracked job is found here, from the entry's payload, at the moment the job
  ends: php-resque creates it right after pushing the job, so it may not have existed yet when the
  job was reserved (php-resque's own worker checks at the end too).

  Bad data in Redis never drops a job half-way (Redis keeps a script's writes made before an
  error). A failed list that is not a list is found before a failed job's first write: it stays
  in flight, unrecorded, and the caller keeps them to send again, while the rest of the batch is
  recorded (so one broken key does not stop a worker from taking jobs). A status key of the wrong
  type is skipped, and a counter that cannot be incremented is left as it is, all logged by Redis.
]]
-- @include worker-record
-- @include script-errors
-- @include status-key

local stride = tonumber(ARGV[5])

-- The failed list's type, checked once, by a call with a failure to record, before that job leaves
-- flight (see above).
local failed_list_ok = nil
local function can_record_failure()
  if failed_list_ok == nil then
    local kind = redis.call('TYPE', KEYS[7]).ok
    failed_list_ok = kind == 'list' or kind == 'none'
    if not failed_list_ok then
      warn('finish', KEYS[7] .. ' is a ' .. kind .. ', not a list: failed jobs stay in flight until it is repaired')
    end
  end
  return failed_list_ok
end

-- Where a retry goes, checked before it is taken out of flight: a key of the wrong type there
-- would raise after the LREM (and Redis keeps a script's writes before an error). No retry while
-- another scheduler leads (Ruby's resque-scheduler, either spelling of its lock, or node-resque's):
-- it would rebuild the item from class and args, the retry count lost, and retry for ever.
local schedule_ok = nil
local function can_schedule(list)
  if schedule_ok == nil then
    local ns = ARGV[6]
    local kind = redis.call('TYPE', KEYS[9]).ok
    schedule_ok = kind == 'zset' or kind == 'none'
    if not schedule_ok then
      warn('finish', KEYS[9] .. ' is a ' .. kind .. ', not a zset: failed jobs are not retried')
    elseif redis.call('EXISTS', ns .. 'resque_scheduler_master_lock', ns .. ns .. 'resque_scheduler_master_lock',
        ns .. 'resque_scheduler_leader_lock') > 0 then
      schedule_ok = false
    end
  end
  if not schedule_ok then return false end
  local kind = redis.call('TYPE', list).ok
  if kind == 'list' or kind == 'none' then return true end
  warn('finish', list .. ' is a ' .. kind .. ', not a list: a failed job is not retried')
  return false
end

local now = tonumber(ARGV[2])
local processed, failed = 0, 0
local left, refused, gone = {}, {}, {}
for i = 7, #ARGV, stride do
  local failure = ARGV[i + 1]
  local retry_at = stride == 5 and ARGV[i + 3] or ''
  local list = retry_at ~= '' and ARGV[6] .. 'delayed:' .. retry_at
  local retrying = list and can_schedule(list) or false
  if failure ~= '' and not retrying and not can_record_failure() then
    left[#left + 1] = (i - 7) / stride + 1
  elseif redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    processed = processed + 1
    if failure ~= '' then failed = failed + 1 end
    if retrying then
      local item = ARGV[i + 4]
      redis.call('RPUSH', list, item)
      -- The member as Ruby's resque-scheduler writes it, without the namespace (its remove_delayed
      -- and clean-up read it through Redis::Namespace).
      best_effort('finish', 'SADD', ARGV[6] .. 'timestamps:' .. item, 'delayed:' .. retry_at)
      redis.call('ZADD', KEYS[9], retry_at, retry_at)
    elseif failure ~= '' then
      redis.call('RPUSH', KEYS[7], failure)
      if list then refused[#refused + 1] = (i - 7) / stride + 1 end
    end
    local _, _, payload = split_entry(ARGV[i])
    -- A status key of the wrong type reads as none (read_job_status): the job's outcome and
    -- counts are worth more than its status.
    local status_key, current = find_job_status(payload, ARGV[4], false)
    if status_key then
      if retrying then
        redis.call('SET', status_key, status_record(1, now, current, 'null'))
      else
        local result = ARGV[i + 2]
        if result == '' then result = 'null' end
        redis.call('SET', status_key, status_record(failure ~= '' and 3 or 4, now, current, result), 'EX', ARGV[3])
      end
    end
  elseif list then
    gone[#gone + 1] = (i - 7) / stride + 1
  end
end

-- best_effort: the outcomes above are written already, so a counter of the wrong type (or not an
-- integer) must not stop the rest: it is logged and left as it is.
if processed > 0 then
  best_effort('finish', 'INCRBY', KEYS[3], processed)
  best_effort('finish', 'INCRBY', KEYS[5], processed)
  best_effort('finish', 'ZADD', KEYS[8], 'XX', 'INCR', processed, ARGV[1])
end
if failed > 0 then
  best_effort('finish', 'INCRBY', KEYS[4], failed)
  best_effort('finish', 'INCRBY', KEYS[6], failed)
end

local next_entry = redis.call('LINDEX', KEYS[1], 0)
if next_entry then
  set_worker_record(KEYS[2], ARGV[1], next_entry)
else
  redis.call('DEL', KEYS[2])
end
if #left > 0 or #refused > 0 or #gone > 0 then return { processed, left, refused, gone } end
return processed
