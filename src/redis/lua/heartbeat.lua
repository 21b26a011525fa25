--[[
  Record a worker's heartbeat with Redis's clock, as Ruby Resque does, so workers on hosts with
  skewed clocks are judged by one time. Also marks the worker as ours (host, pid namespace, pid,
  beat, queues) for our pruner and enqueue.lua, and registers it: at start ('register'), or again
  on a beat ('ensure') when a peer's prune unregistered a live worker of ours.

  KEYS[1]  heartbeat hash                (<ns>:workers:heartbeat)
  KEYS[2]  our workers hash              (<ns>:rw:workers)
  KEYS[3]  workers set                   (<ns>:workers)
  KEYS[4]  worker started                (<ns>:worker:<id>:started)
  ARGV[1]  worker id
  ARGV[2]  host name
  ARGV[3]  pid namespace ('' when unknown)
  ARGV[4]  pid
  ARGV[5]  'register' (SADD + started), 'ensure' (SADD if missing) or '' (beat only)
  ARGV[6]  started time, ISO 8601
  ARGV[7]  the worker's queue list as JSON (enqueue.lua reads it to hand jobs to idle workers)
  Returns {time written (ISO 8601 UTC), 1 if this call (re-)added the worker to the workers set}.
]]
-- @include iso-time

local secs = tonumber(redis.call('TIME')[1])
local iso = iso8601_utc(secs)
redis.call('HSET', KEYS[1], ARGV[1], iso)
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({ host = ARGV[2], pidns = ARGV[3], pid = tonumber(ARGV[4]), beat = secs,
  queues = cjson.decode(ARGV[7]) }))
local added = 0
if ARGV[5] == 'register' then
  added = redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('SET', KEYS[4], ARGV[6])
elseif ARGV[5] == 'ensure' then
  added = redis.call('SADD', KEYS[3], ARGV[1])
  if added == 1 then redis.call('SET', KEYS[4], ARGV[6], 'NX') end
end
return { iso, added }
