--[[
  Push payloads onto a queue the way Resque does (RPUSH + SADD queues, atomically), optionally
  create php-resque status keys, and wake idle workers of ours if any are waiting.

  KEYS[1]  queues set                  (<ns>:queues)
  KEYS[2]  queue list                  (<ns>:queue:<name>)
  KEYS[3]  idle-workers flag           (<ns>:rw:idle-workers)
  KEYS[4..] status key per payload     (<ns>:job:<id>:status), only when ARGV[3] is not ''
  ARGV[1]  queue name
  ARGV[2]  wake channel
  ARGV[3]  initial status JSON for tracked jobs, or ''
  ARGV[4..] payload JSON, one per job
  Returns the queue length after the push.
]]
local n = #ARGV - 3
local len = 0
for i = 4, #ARGV, 5000 do
  len = redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then
  for i = 1, n do
    redis.call('SET', KEYS[3 + i], ARGV[3])
  end
end
-- Only pay for a PUBLISH when some worker said it is idle; the worker that wakes re-arms the flag.
if redis.call('DEL', KEYS[3]) == 1 then
  redis.call('PUBLISH', ARGV[2], ARGV[1])
end
return len
