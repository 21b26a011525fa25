--[[
  Retry one failure record (Resque::Failure::Redis.requeue): push its payload back on its queue and
  mark the record with retried_at, if the record at that index is still the one the client read.
  Ruby reads, then writes by index: a record removed or retried meanwhile shifted or changed the
  list, and its write overwrote another record (lost) or requeued a job twice.

  KEYS[1]  failed list                 (<ns>:failed)
  KEYS[2]  queues set                  (<ns>:queues)
  KEYS[3]  queue list                  (<ns>:queue:<name>)
  KEYS[4..] php-resque status key      (<ns>:job:<id>:status), only for a payload with an id
  ARGV[1]  index in the failed list
  ARGV[2]  the record as the client read it
  ARGV[3]  the record marked with retried_at
  ARGV[4]  the payload, as it is in the record
  ARGV[5]  queue name
  ARGV[6]  status record (waiting), with KEYS[4]
  Returns 1 when requeued, 0 when the record at that index is no longer the one read (nothing done).
  A queue key that is not a list is an error, and nothing is written.
]]
if redis.call('LINDEX', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local queue_type = redis.call('TYPE', KEYS[3]).ok
if queue_type ~= 'list' and queue_type ~= 'none' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[3] .. ' is a ' .. queue_type .. ', not a list: failure not retried')
end
-- SADD first: a queues set of the wrong type fails before anything is written.
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])
if KEYS[4] then
  -- XX: a status that expired (or was never kept) is not made up. SET replaces a key of any type.
  redis.call('SET', KEYS[4], ARGV[6], 'XX')
end
return 1
