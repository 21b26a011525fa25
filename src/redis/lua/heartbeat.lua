--[[
  Record a worker's heartbeat with Redis's clock, as Ruby Resque does, so workers on hosts with
  skewed clocks are judged by one time.

  KEYS[1]  heartbeat hash                (<ns>:workers:heartbeat)
  ARGV[1]  worker id
  Returns the time written (ISO 8601 UTC).
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
return iso
