--[[
  Put in-flight jobs back at the head of their queues, in their original order, and drop them from
  the in-flight list in the same step: used at a pause or a stop (put-back.ts: prefetched jobs,
  running jobs at the stop deadline, entries no running job claims). Tracked statuses go back to
  waiting (1). Each queue is added to the queues set again, as Resque's push does: a queue removed
  (resque-web's "remove queue") while its job ran would otherwise hold it where no `*` worker and
  no tool looks.

  A job whose queue key is not a list (WRONGTYPE: say someone SET it to a string) cannot go back.
  It is recorded in the failed list instead, as recover.lua records a job it cannot requeue:
  exception 'QueueNotAList', an error naming the key, stat:processed and stat:failed counted, a
  tracked status failed (3) with the final-status TTL. There it is seen (resque-web) and can be
  retried once the key is repaired. Left in flight it would meet the same key again when the pruner
  recovers it. Should the failed list be broken too, the job stays in flight: it is never dropped.
  Each job is pushed to where it goes before it leaves the in-flight list, because Redis keeps a
  script's writes made before an error.

  KEYS[1]  in-flight list                (<ns>:worker:<id>:inflight)
  KEYS[2]  worker record                 (<ns>:worker:<id>)
  ARGV[1]  worker id
  ARGV[2]  queue key prefix              (<ns>:queue:)
  ARGV[3]  status key prefix             (<ns>:job:)
  ARGV[4]  now, unix seconds
  ARGV[5]  failed list                   (<ns>:failed)
  ARGV[6]  stat:processed
  ARGV[7]  stat:failed
  ARGV[8]  failed_at, Ruby format, for a job whose queue key is not a list
  ARGV[9]  final status TTL in seconds, for such a job's failed status
  ARGV[10] queues set                    (<ns>:queues)
  ARGV[11..] entries to put back; none means every entry in the list
  ARGV[5..7] and ARGV[10] are keys, named in ARGV as the queue and status keys are (from ARGV[2..3]): they are
  needed only when a job cannot go back, and Resque's layout is single-Redis anyway (enqueue.lua).
  Returns the entries put back, then, only if some were failed instead, '' and those entries.
]]
-- @include worker-record
-- @include script-errors
-- @include failure-record
-- @include status-key
-- @include job-status

local FIRST = 11

-- An in-flight key someone overwrote (not a list) holds none of the entries any more: those given
-- (the worker still has them) go back to their queues as if taken from it. LREM on it would raise
-- after each push, and each retry of the call push them again.
local inflight_type = redis.call('TYPE', KEYS[1]).ok
local inflight_broken = inflight_type ~= 'list' and inflight_type ~= 'none'
if inflight_broken then warn('requeue', KEYS[1] .. ' is a ' .. inflight_type .. ', not a list: entries put back') end

-- Takes an entry out of the in-flight list: false when it was not there (this call was sent again).
local function take(entry)
  return inflight_broken or redis.call('LREM', KEYS[1], 1, entry) == 1
end

local entries = {}
if #ARGV >= FIRST then
  for i = FIRST, #ARGV do entries[#entries + 1] = ARGV[i] end
elseif not inflight_broken then
  entries = redis.call('LRANGE', KEYS[1], 0, -1)
end

-- A status key of the wrong type is left as it is (read_job_status, status-key.lib.lua).
local function set_status(decoded, code)
  local key = set_job_status(ARGV[3], decoded, code, ARGV[4])
  if key and code == 3 then redis.call('EXPIRE', key, ARGV[9]) end
end

local moved, failed = {}, {}
-- An entry without its three separators was not written by reserve or enqueue and has no queue
-- to go back to: it is left in flight, where recover.lua keeps it as text in the failed list once
-- the worker is gone. Split, it would raise, and every put-back of this worker's stop with it.
local readable = {}
for _, entry in ipairs(entries) do
  if split_entry(entry) then
    readable[#readable + 1] = entry
  else
    warn('requeue', 'unreadable entry left in flight in ' .. KEYS[1])
  end
end
entries = readable

for i = #entries, 1, -1 do
  local entry = entries[i]
  local _, queue, payload = split_entry(entry)
  local queue_key = ARGV[2] .. queue
  local pushed = redis.pcall('LPUSH', queue_key, payload)
  if not is_error(pushed) then
    best_effort('requeue', 'SADD', ARGV[10], queue)
    if take(entry) then
      local ok, decoded = pcall(cjson.decode, payload)
      if ok then set_status(decoded, 1) end
      table.insert(moved, 1, entry)
    else
      -- No longer in flight (this call was sent again): it went back the first time.
      redis.call('LPOP', queue_key)
    end
  elseif not wrong_type(pushed) then
    -- Redis refusing writes (OOM, MISCONF, READONLY) refuses the first one, so nothing is written
    -- yet: the error goes to the caller, which tries again.
    return pushed
  else
    local ok, decoded = pcall(cjson.decode, payload)
    local valid = ok and type(decoded) == 'table'
    local message = 'could not be put back on its queue: ' .. queue_key .. ' is a ' ..
      redis.call('TYPE', queue_key).ok .. ', not a list'
    local recorded = redis.pcall('RPUSH', ARGV[5], failure_record_json(ARGV[8],
      valid and payload or json_string(payload), 'QueueNotAList', message, ARGV[1], queue))
    if is_error(recorded) then
      warn('requeue', 'job left in flight in ' .. KEYS[1] .. ': its queue ' .. queue_key .. ' is not a list and ' ..
        ARGV[5] .. ' failed: ' .. recorded.err)
    elseif take(entry) then
      warn('requeue', 'job failed: ' .. message)
      if valid then set_status(decoded, 3) end
      table.insert(failed, 1, entry)
    else
      -- No longer in flight (this call was sent again): recorded the first time.
      redis.call('RPOP', ARGV[5])
    end
  end
end

if #failed > 0 then
  -- The jobs are recorded already; a counter of the wrong type is not worth an abort.
  best_effort('requeue', 'INCRBY', ARGV[6], #failed)
  best_effort('requeue', 'INCRBY', ARGV[7], #failed)
end

local next_entry = not inflight_broken and redis.call('LINDEX', KEYS[1], 0)
if next_entry then
  set_worker_record(KEYS[2], ARGV[1], next_entry)
else
  redis.call('DEL', KEYS[2])
end
if #failed > 0 then
  moved[#moved + 1] = ''
  for _, entry in ipairs(failed) do moved[#moved + 1] = entry end
end
return moved
