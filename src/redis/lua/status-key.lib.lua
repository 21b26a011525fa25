-- Shared by the scripts that include it with `-- @include status-key`.
-- Finds the php-resque status key of a payload and reads it, as reserve.lua (marking a job
-- running) and finish.lua (recording its end) need to for every job they touch, and builds the
-- status record every script writes (job-status.lib.lua too: include this one before it).

-- php-resque's status record `{"status","updated","started","result"}`. `started` is kept from
-- the record being replaced (`current`, its JSON), else it becomes `now`; `result` is JSON.
local function status_record(code, now, current, result)
  local ok, old = pcall(cjson.decode, current)
  local started = (ok and type(old) == 'table' and old.started) or tonumber(now)
  return '{"status":' .. code .. ',"updated":' .. now .. ',"started":' .. cjson.encode(started) ..
    ',"result":' .. result .. '}'
end

-- The status key of a payload, or nil: a JSON object with an id (a non-string id is read as
-- JavaScript's String() would), and with `strict` also the worker's payload rules (payload.ts
-- parsePayload: a non-empty string class, args absent/null/an array). finish.lua is not strict, so
-- a tracked payload our checks reject still ends failed instead of staying running.
local function job_status_key(payload, key_prefix, strict)
  local ok, p = pcall(cjson.decode, payload)
  if not ok or type(p) ~= 'table' then return nil end
  if strict then
    if type(p.class) ~= 'string' or p.class == '' then return nil end
    local args = p.args
    if args ~= nil and args ~= cjson.null then
      if type(args) ~= 'table' then return nil end
      for k in pairs(args) do
        if type(k) ~= 'number' then return nil end
      end
    end
  end
  local id = p.id
  if id == nil or id == '' then return nil end
  if id == cjson.null then
    id = 'null'
  elseif type(id) == 'number' then
    if id ~= math.floor(id) or math.abs(id) >= 9007199254740992 then return nil end
    id = string.format('%d', id)
  elseif type(id) == 'boolean' then
    id = tostring(id)
  elseif type(id) ~= 'string' then
    return nil
  end
  local prefix = p.prefix
  if type(prefix) == 'string' and prefix ~= '' then
    return key_prefix .. prefix .. '_' .. id .. ':status'
  end
  return key_prefix .. id .. ':status'
end

-- The record at a status key, or false when there is none. pcall: a key of the wrong type (a hash
-- where php-resque's string belongs) raises WRONGTYPE, which would abort the including script after
-- its earlier writes (reserve.lua's pops, a job already moved): the job matters more than its
-- status, so that key is treated as absent (left as it is) and logged. One GET either way: this
-- runs for every job reserve.lua takes.
local function read_job_status(key)
  local current = redis.pcall('GET', key)
  if type(current) == 'table' and current.err then
    redis.log(redis.LOG_WARNING, 'resque-worker: job status ' .. key .. ' left as it was: ' .. current.err)
    return false
  end
  return current
end

-- The key, and its current value, of a tracked job's status; nil for an untracked job (most).
-- Decoding every payload to find out is the costly part, so the key is first read off the
-- payload's only '"id":"' when nothing else could change it (no other '"id":', no prefix, no
-- escapes); a key found that way that exists is confirmed by the full decode before it is used.
-- A payload with no '"id"' at all (Ruby's) has no status key.
local function find_job_status(payload, key_prefix, strict)
  local key, unconfirmed = nil, false
  local s, e = string.find(payload, '"id":"', 1, true)
  if s and string.find(payload, '"id":', 1, true) == s and not string.find(payload, '"id":', e, true)
    and not string.find(payload, '"prefix"', 1, true) then
    local close = string.find(payload, '"', e + 1, true)
    local id = close and string.sub(payload, e + 1, close - 1)
    if id and id ~= '' and not string.find(id, '\\', 1, true) then
      key, unconfirmed = key_prefix .. id .. ':status', true
    end
  end
  if not key then
    if not string.find(payload, '"id"', 1, true) then return nil end
    key = job_status_key(payload, key_prefix, strict)
  end
  local current = key and read_job_status(key)
  if current and unconfirmed then
    local confirmed = job_status_key(payload, key_prefix, strict)
    if confirmed ~= key then
      key = confirmed
      current = key and read_job_status(key)
    end
  end
  if not current then return nil end
  return key, current
end
