--[[
  Reserve up to N jobs for one worker: pop them from its queues in priority order and record them
  in the worker's in-flight list in the same atomic step, so a worker killed after this returns
  cannot lose them (dead-worker recovery puts them back). Tracked jobs (an existing php-resque
  status key) are marked running (status 2) here too, before any finish of theirs can run, which
  saves the worker a separate call and a key argument per job.

  Safe to repeat: ioredis re-sends a command whose reply was lost when Redis went away. If the
  worker's last reservation already carries this token, the script returns that reservation again
  instead of taking more jobs.

  KEYS[1]  in-flight list of the worker  (<ns>:worker:<id>:inflight)
  KEYS[2]  last reservation token        (<ns>:worker:<id>:last-reserve)
  KEYS[3]  worker record                 (<ns>:worker:<id>)
  KEYS[4]  queues set                    (<ns>:queues)
  KEYS[5]  pause-all-workers flag        (<ns>:pause-all-workers)
  KEYS[6]  idle workers                   (<ns>:rw:idle)
  ARGV[1]  reservation token (unique per worker)
  ARGV[2]  maximum number of jobs to take
  ARGV[3]  run_at, ISO 8601 UTC
  ARGV[4]  worker id
  ARGV[5]  queue key prefix              (<ns>:queue:)
  ARGV[6]  job status key prefix         (<ns>:job:)
  ARGV[7]  'fresh' when the worker's room (ARGV[2]) counts every job handed to it so far (it got
           a 'w' from enqueue.lua since its last reserve), else ''
  ARGV[8..] queue names in priority order; '*' or a name with '*' matches known queues, sorted
  Returns {state, entries...}: the in-flight entries taken, '<token>#<n>\0<run_at>\0<queue>\0<payload>',
  after one of: 'more' (took ARGV[2] jobs: there may be more), 'idle' (the queues are drained; the
  worker is in the idle set for enqueue.lua to hand jobs to), 'paused' (pause-all-workers is "true")
  or 'again' (this token's reservation, sent again). A queue key that is not a list is skipped (and
  logged by Redis), never half-popped.
]]
-- @include worker-record
-- @include script-errors
-- @include queue-glob
-- @include status-key
-- @include pause-flag

local token = ARGV[1]
local sep = '\0'

-- One read for both checks, so an idle worker's poll costs four commands.
local last_token, pause_flag = unpack(redis.call('MGET', KEYS[2], KEYS[5]))

if last_token == token then
  local again = { 'again' }
  local prefix = token .. '#'
  for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    if string.sub(entry, 1, #prefix) == prefix then again[#again + 1] = entry end
  end
  return again
end

if pause_flag_set(pause_flag) then return { 'paused' } end

local wanted = tonumber(ARGV[2])
local queues = {}
local known = nil
for i = 8, #ARGV do
  local q = ARGV[i]
  if string.find(q, '*', 1, true) then
    if not known then
      known = redis.call('SMEMBERS', KEYS[4])
      table.sort(known)
    end
    local pattern = glob_pattern(q)
    for _, name in ipairs(known) do
      if string.find(name, pattern) then queues[#queues + 1] = name end
    end
  else
    queues[#queues + 1] = q
  end
end

-- Each entry's token field is '<token>#<n>', so two identical payloads (Ruby's have no id) still
-- make distinct entries, and finishing one can never remove the other's.
local entries = {}
local popped_payloads = {}
local popped_queues = {}
local tail = sep .. ARGV[3] .. sep
for _, q in ipairs(queues) do
  local need = wanted - #entries
  if need <= 0 then break end
  -- pcall: a queue key that is not a list (WRONGTYPE) is skipped. An error raised here would
  -- abort the script after earlier queues were popped, and those jobs would be lost.
  local popped = redis.pcall('LPOP', ARGV[5] .. q, need)
  if is_error(popped) then
    warn('reserve', 'skipping queue ' .. q .. ': ' .. popped.err)
  elseif popped then
    for _, payload in ipairs(popped) do
      entries[#entries + 1] = token .. '#' .. (#entries + 1) .. tail .. q .. sep .. payload
      popped_payloads[#popped_payloads + 1] = payload
      popped_queues[#popped_queues + 1] = q
    end
  end
end

-- The jobs popped are recorded in flight first: an error in a later write (a key of the wrong
-- type) then leaves them there, and the call sent again gets them back by its token. An in-flight
-- key that is not a list takes none of them: they go back to the head of their queues, in order,
-- and the error goes to the worker.
if #entries > 0 then
  for i = 1, #entries, 5000 do
    local pushed = redis.pcall('RPUSH', KEYS[1], unpack(entries, i, math.min(i + 4999, #entries)))
    if is_error(pushed) then
      for j = #popped_payloads, 1, -1 do
        redis.call('LPUSH', ARGV[5] .. popped_queues[j], popped_payloads[j])
      end
      return pushed
    end
  end
  redis.call('SET', KEYS[2], token)
end

-- Fewer jobs than wanted: this worker's queues are drained, so it joins the idle set with the room
-- it has left and waits for a hand-off or a wake-up (or its next poll). Joining in the same atomic
-- step as the LPOPs means an enqueue that lands after them finds it: none slips in between.
-- A hand-off that ran after the worker counted its room (its message still on the way) has
-- already lowered the worker's score, and enqueue.lua leaves a worker out of room at 0: unless
-- the worker's count is fresh, the score may only go down (LT), never back to a stale room.
-- pcall: an idle set of the wrong type costs hand-offs (the worker polls instead), not jobs.
local state = 'more'
local joined
if #entries < wanted then
  state = 'idle'
  if ARGV[7] == 'fresh' then
    joined = redis.pcall('ZADD', KEYS[6], wanted - #entries, ARGV[4])
  else
    joined = redis.pcall('ZADD', KEYS[6], 'LT', wanted - #entries, ARGV[4])
  end
else
  joined = redis.pcall('ZREM', KEYS[6], ARGV[4])
end
if is_error(joined) then warn('reserve', 'idle set ' .. KEYS[6] .. ': ' .. joined.err) end
if #entries == 0 then return { state } end

-- Mark tracked jobs running: only an existing status key is updated, as php-resque does.
local now = nil
for _, payload in ipairs(popped_payloads) do
  local key, current = find_job_status(payload, ARGV[6], true)
  if key then
    now = now or tonumber(redis.call('TIME')[1])
    redis.call('SET', key, status_record(2, now, current, 'null'), 'KEEPTTL')
  end
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  set_worker_record(KEYS[3], ARGV[4], entries[1])
end
table.insert(entries, 1, state)
return entries
