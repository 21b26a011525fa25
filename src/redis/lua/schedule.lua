--[[
  Move scheduled jobs that are due into their queues. The layout is resque-scheduler's, so jobs
  scheduled by Ruby's resque-scheduler (enqueue_at, enqueue_in) run here, and ours are moved by its
  scheduler just as well:
    <ns>:delayed_queue_schedule   ZSET timestamp -> timestamp (unix s) at which jobs are due
    <ns>:delayed:<timestamp>      LIST of items {"class","args","queue"} (ours add "id")
    <ns>:timestamps:<item>        SET of the delayed:<timestamp> keys that hold the item, without
                                  the namespace as Ruby writes them (node-resque's and ours
                                  before had it: both are removed)

  Each item goes to the tail of its queue (RPUSH, as Resque's push) with its bytes unchanged: its
  args are never decoded and encoded again (cjson rounds integers past 2^53), and its "queue"
  field is one node-resque's payloads carry too. A timestamp's list and its schedule entry go once
  the list is empty. An item that cannot be routed (not a JSON object with a queue name, or a
  queue key that is not a list) is recorded in the failed list as InvalidPayload or QueueNotAList,
  never dropped, and never tried again each second (a tracked one's status becomes failed, with
  the final-status TTL). Idle workers (rw:idle) are told to reserve ('w'), as enqueue.lua tells
  those serving a queue whose jobs it could not hand them.

  Ruby's resque-scheduler moves only while it holds its master lock, and newer ones move in
  batches (LRANGE, then WATCH/MULTI/LTRIM): an item moved by anyone else between its reads would
  be queued twice and a newer one trimmed unqueued. So nothing is moved while that lock exists.

  KEYS[1]  delayed_queue_schedule        (<ns>:delayed_queue_schedule)
  KEYS[2]  resque-scheduler's master lock, as older ones name it (<ns>:resque_scheduler_master_lock)
  KEYS[3]  and as newer ones do            (<ns>:<ns>:resque_scheduler_master_lock)
  ARGV[1]  key prefix                    (<ns>:)
  ARGV[2]  most timestamps and items to handle in this call (each costs a decode: bounded so a
           call stays short, and the caller calls again while a call did all it could)
  ARGV[3]  failed_at, Ruby format, for an item that cannot be routed
  ARGV[4]  final status TTL, seconds, for a tracked item that cannot be routed
  Returns {moved, failed, handled, 1 if resque-scheduler's lock kept this call from moving}; Redis's
  clock decides what is due.
]]
-- @include script-errors
-- @include failure-record
-- @include status-key
-- @include job-status

if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then return { 0, 0, 0, 1 } end

local ns = ARGV[1]
local limit = tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local moved, failed, handled, queues_woken = 0, 0, 0, false

local function record_failure(item, decoded, queue, exception, message)
  local payload = (type(decoded) == 'table' and string.byte(item, 1) == 123) and item or json_string(item)
  local recorded = redis.pcall('RPUSH', ns .. 'failed',
    failure_record_json(ARGV[3], payload, exception, message, 'scheduler', queue))
  if is_error(recorded) then return false end
  best_effort('schedule', 'INCR', ns .. 'stat:processed')
  best_effort('schedule', 'INCR', ns .. 'stat:failed')
  if type(decoded) == 'table' then
    local key = set_job_status(ns .. 'job:', decoded, 3, now)
    if key then redis.call('EXPIRE', key, ARGV[4]) end
  end
  return true
end

-- The failed list is broken too: the item goes back where it was, found there as before.
local function keep_scheduled(due, item)
  redis.call('LPUSH', ns .. 'delayed:' .. due, item)
  best_effort('schedule', 'SADD', ns .. 'timestamps:' .. item, 'delayed:' .. due)
  return redis.error_reply('ERR ' .. ns .. 'failed is not a list: scheduled jobs that cannot be routed wait')
end

while handled < limit do
  handled = handled + 1
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)[1]
  if not due then break end
  local list = ns .. 'delayed:' .. due
  local item = redis.pcall('LPOP', list)
  if is_error(item) then
    -- Not a list: nothing of it can be moved. Out of the schedule, or it would block the rest.
    warn('schedule', list .. ': ' .. item.err .. '; taken out of ' .. KEYS[1])
    redis.call('ZREM', KEYS[1], due)
  elseif not item then
    redis.call('ZREM', KEYS[1], due)
  else
    best_effort('schedule', 'SREM', ns .. 'timestamps:' .. item, 'delayed:' .. due, list)
    local ok, decoded = pcall(cjson.decode, item)
    if not ok then decoded = nil end
    local queue = type(decoded) == 'table' and decoded.queue
    if type(queue) ~= 'string' or queue == '' or string.find(queue, ',', 1, true) then
      local message = 'scheduled item has no "queue" name: ' .. string.sub(item, 1, 200)
      if not record_failure(item, decoded, '', 'InvalidPayload', message) then return keep_scheduled(due, item) end
      failed = failed + 1
    else
      local pushed = redis.pcall('RPUSH', ns .. 'queue:' .. queue, item)
      if is_error(pushed) then
        local message = 'could not be put on its queue: ' .. ns .. 'queue:' .. queue .. ' is not a list'
        if not record_failure(item, decoded, queue, 'QueueNotAList', message) then return keep_scheduled(due, item) end
        failed = failed + 1
      else
        best_effort('schedule', 'SADD', ns .. 'queues', queue)
        moved = moved + 1
        queues_woken = true
      end
    end
    if redis.call('LLEN', list) == 0 then
      redis.call('DEL', list)
      redis.call('ZREM', KEYS[1], due)
    end
  end
end

if queues_woken then
  local idle = redis.pcall('ZRANGE', ns .. 'rw:idle', 0, 99)
  if not is_error(idle) then
    for _, id in ipairs(idle) do redis.call('PUBLISH', ns .. 'rw:worker:' .. id, 'w') end
  end
end

return { moved, failed, handled, 0 }
