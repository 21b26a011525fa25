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
local t = redis.call('TIME')
local secs = tonumber(t[1])
-- civil_from_days (Howard Hinnant): days since 1970-01-01 -> y, m, d
local z = math.floor(secs / 86400) + 719468
local era = math.floor(z / 146097)
local doe = z - era * 146097
local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
local mp = math.floor((5 * doy + 2) / 153)
local d = doy - math.floor((153 * mp + 2) / 5) + 1
local m = mp < 10 and mp + 3 or mp - 9
local y = yoe + era * 400 + (m <= 2 and 1 or 0)
local sod = secs % 86400
local iso = string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, d,
  math.floor(sod / 3600), math.floor(sod % 3600 / 60), sod % 60)
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
