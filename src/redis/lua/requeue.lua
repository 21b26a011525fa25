--[[
  Put in-flight jobs back at the head of their queues, in their original order, and drop them from
  the in-flight list in the same step: used when a graceful stop reaches its deadline and when a
  dead worker's jobs are recovered. Tracked statuses go back to waiting (1).

  KEYS[1]  in-flight list                (<ns>:worker:<id>:inflight)
  KEYS[2]  worker record                 (<ns>:worker:<id>)
  ARGV[1]  worker id
  ARGV[2]  queue key prefix              (<ns>:queue:)
  ARGV[3]  status key prefix             (<ns>:job:)
  ARGV[4]  now, unix seconds
  ARGV[5..] entries to put back; none means every entry in the list
  Returns the entries put back.
]]
-- @include worker-record

local entries = {}
if #ARGV > 4 then
  for i = 5, #ARGV do entries[#entries + 1] = ARGV[i] end
else
  entries = redis.call('LRANGE', KEYS[1], 0, -1)
end

local moved = {}
for i = #entries, 1, -1 do
  local entry = entries[i]
  if redis.call('LREM', KEYS[1], 1, entry) == 1 then
    local _, queue, payload = split_entry(entry)
    redis.call('LPUSH', ARGV[2] .. queue, payload)
    local ok, decoded = pcall(cjson.decode, payload)
    if ok and type(decoded) == 'table' and type(decoded.id) == 'string' then
      local prefix = (type(decoded.prefix) == 'string' and decoded.prefix ~= '') and (decoded.prefix .. '_') or ''
      local status_key = ARGV[3] .. prefix .. decoded.id .. ':status'
      local current = redis.call('GET', status_key)
      if current then
        local okc, old = pcall(cjson.decode, current)
        local started = (okc and type(old) == 'table' and old.started) or tonumber(ARGV[4])
        redis.call('SET', status_key, '{"status":1,"updated":' .. ARGV[4] .. ',"started":' .. cjson.encode(started) .. ',"result":null}')
      end
    end
    table.insert(moved, 1, entry)
  end
end

local next_entry = redis.call('LINDEX', KEYS[1], 0)
if next_entry then
  set_worker_record(KEYS[2], ARGV[1], next_entry)
else
  redis.call('DEL', KEYS[2])
end
return moved
