--[[
  Move scheduled jobs that are due into their queues. The layout is resque-scheduler's, so jobs
  scheduled by Ruby's resque-scheduler (enqueue_at, enqueue_in) run here, and ours are moved by its
  scheduler just as well:
    <ns>:delayed_queue_schedule   ZSET timestamp -> timestamp (unix s) at which jobs are due
    <ns>:delayed:<timestamp>      LIST of items {"class","args","queue"} (ours add "id")
    <ns>:timestamps:<item>        SET of the delayed:<timestamp> keys that hold the item

  Each item goes to the tail of its queue (RPUSH, as Resque's push) with its bytes unchanged: its
  args are never decoded and encoded again (cjson rounds integers past 2^53), and its "queue"
  field is one node-resque's payloads carry too. A timestamp's list and its schedule entry go once
  the list is empty. An item that cannot be routed (not a JSON object with a queue name, or a
  queue key that is not a list) is recorded in the failed list as InvalidPayload or QueueNotAList,
  never dropped, and never tried again each second. Idle workers (rw:idle) are told to reserve
  ('w'), as enqueue.lua tells those serving a queue whose jobs it could not hand them.

  KEYS[1]  delayed_queue_schedule        (<ns>:delayed_queue_schedule)
  ARGV[1]  key prefix                    (<ns>:)
  ARGV[2]  most items to move in this call
  ARGV[3]  failed_at, Ruby format, for an item that cannot be routed
  Returns {moved, failed}; Redis's clock decides what is due.
]]
-- @include script-errors
-- @include failure-record

local ns = ARGV[1]
local limit = tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local moved, failed, queues_woken = 0, 0, false

local function record_failure(item, queue, exception, message)
  local ok, decoded = pcall(cjson.decode, item)
  local payload = (ok and type(decoded) == 'table' and string.byte(item, 1) == 123) and item or json_string(item)
  local recorded = redis.pcall('RPUSH', ns .. 'failed',
    failure_record_json(ARGV[3], payload, exception, message, 'scheduler', queue))
  if is_error(recorded) then return false end
  best_effort('schedule', 'INCR', ns .. 'stat:processed')
  best_effort('schedule', 'INCR', ns .. 'stat:failed')
  return true
end

while moved + failed < limit do
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
    best_effort('schedule', 'SREM', ns .. 'timestamps:' .. item, list)
    local ok, decoded = pcall(cjson.decode, item)
    local queue = ok and type(decoded) == 'table' and decoded.queue
    if type(queue) ~= 'string' or queue == '' or string.find(queue, ',', 1, true) then
      if not record_failure(item, '', 'InvalidPayload', 'scheduled item has no "queue" name: ' .. string.sub(item, 1, 200)) then
        redis.call('LPUSH', list, item) -- the failed list is broken too: it stays scheduled
        return redis.error_reply('ERR ' .. ns .. 'failed is not a list: scheduled jobs wait')
      end
      failed = failed + 1
    else
      local pushed = redis.pcall('RPUSH', ns .. 'queue:' .. queue, item)
      if is_error(pushed) then
        local message = 'could not be put on its queue: ' .. ns .. 'queue:' .. queue .. ' is not a list'
        if not record_failure(item, queue, 'QueueNotAList', message) then
          redis.call('LPUSH', list, item)
          return redis.error_reply('ERR ' .. ns .. 'failed is not a list: scheduled jobs wait')
        end
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

return { moved, failed }
