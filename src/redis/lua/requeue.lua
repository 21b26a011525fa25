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
-- @include status-key
-- @include job-status

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
    if ok then set_job_status(ARGV[3], decoded, 1, ARGV[4]) end
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
