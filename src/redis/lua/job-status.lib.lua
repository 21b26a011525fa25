-- Shared by the scripts that include it with `-- @include job-status` (after `status-key`).
-- Writes php-resque's status record `{"status","updated","started","result":null}` of a tracked
-- job: a decoded payload with a string `id` (and maybe a `prefix`), whose key
-- '<status key prefix>[<prefix>_]<id>:status' already exists (an untracked job never gets one).
-- `started` is kept from the old record, else it becomes `now`. Returns the key it wrote, or nil
-- (also for a key of the wrong type, left as it is: see read_job_status in status-key.lib.lua).
local function set_job_status(status_key_prefix, decoded, code, now)
  if not (type(decoded) == 'table' and type(decoded.id) == 'string') then return nil end
  local prefix = (type(decoded.prefix) == 'string' and decoded.prefix ~= '') and (decoded.prefix .. '_') or ''
  local key = status_key_prefix .. prefix .. decoded.id .. ':status'
  local current = read_job_status(key)
  if not current then return nil end
  redis.call('SET', key, status_record(code, now, current, 'null'))
  return key
end
