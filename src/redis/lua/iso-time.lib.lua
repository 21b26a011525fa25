-- Shared by the scripts that include it with `-- @include iso-time`.
-- Unix seconds -> ISO 8601 UTC with no fraction ('2026-11-27T07:30:00Z'), as Ruby writes a
-- heartbeat and a worker record's run_at. Redis' Lua has no os.date; this is the proleptic
-- Gregorian calendar by integer arithmetic (days from civil, inverted: eras of 400 years, years
-- starting in March).
local function iso8601_utc(seconds)
  local days = math.floor(seconds / 86400)
  local secs = seconds - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', year, month, day,
    math.floor(secs / 3600), math.floor(secs % 3600 / 60), secs % 60)
end
