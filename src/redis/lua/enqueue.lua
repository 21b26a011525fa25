--[[
  Push payloads onto a queue the way Resque does (RPUSH + SADD queues, atomically), optionally
  create php-resque status keys, and get the jobs going at once when workers of ours wait for work.

  Hand-off: while the queue is empty (so no queued job is overtaken) and workers are not paused,
  each payload goes straight into the in-flight list of the idle worker (KEYS[3], written by
  reserve.lua) with the most room that serves this queue, and is PUBLISHed to that worker, which
  starts it on receipt: one hop instead of a wake-up and then a reserve. The entry is in the
  worker's in-flight list before the message goes out, so a worker that dies with it is recovered
  like any other. A PUBLISH that nobody receives (the worker is gone, or its subscriber is
  reconnecting) is undone at once and that worker leaves the idle set.

  Payloads not handed off are RPUSHed. When some are (the queue was not empty, or the idle
  workers' room ran out), every idle worker serving the queue gets 'w' (reserve now) and its room
  is set to 0 until its reserve counts it afresh: reserve.lua never raises a score from a count
  that may miss a hand-off still on its way.

  KEYS[1]  queues set                  (<ns>:queues)
  KEYS[2]  queue list                  (<ns>:queue:<name>)
  KEYS[3]  idle workers zset           (<ns>:rw:idle): worker id -> jobs it can take
  KEYS[4]  pause-all-workers flag      (<ns>:pause-all-workers)
  KEYS[5]  our workers hash            (<ns>:rw:workers): worker id -> JSON with its `queues`
  KEYS[6]  hand-off counter            (<ns>:rw:hand-off-seq)
  KEYS[7..] status key per payload     (<ns>:job:<id>:status), only when ARGV[3] is not ''
  ARGV[1]  queue name
  ARGV[2]  worker key prefix           (<ns>:worker:): <prefix><id> and <prefix><id>:inflight
  ARGV[3]  initial status JSON for tracked jobs, or ''
  ARGV[4]  worker channel prefix       (<ns>:rw:worker:)
  ARGV[5]  run_at for handed-off jobs, ISO 8601 UTC
  ARGV[6..] payload JSON, one per job
  Returns the number of jobs handed off.

  A worker's in-flight list, record and channel are named from ARGV prefixes, not KEYS (which worker
  is chosen inside the script): fine on a single Redis, as Resque's layout is; not Cluster-safe.
  Order is kept per queue: a worker on several queues may be handed a job of a lower one while a
  peer's client has just pushed to a higher one (its next reserve takes that).
]]
-- @include worker-record
-- @include queue-glob

local FIRST = 6
local queue = ARGV[1]
local count = #ARGV - FIRST + 1
local tracked = ARGV[3] ~= ''
if tracked then
  for i = 1, count do
    redis.call('SET', KEYS[6 + i], ARGV[3])
  end
end
redis.call('SADD', KEYS[1], queue)

-- Idle workers whose queue list names this queue, or a glob matching it, by room. Only the 100 with
-- the most room are looked at, which bounds an enqueue's cost; beyond that (more idle worker
-- processes than any pool we know of) a job is queued and found by a reserve or a poll. A member
-- without a record in our workers hash was pruned (dead): it leaves the idle set.
local function idle_workers_serving()
  local idle = redis.call('ZREVRANGE', KEYS[3], 0, 99, 'WITHSCORES')
  if #idle == 0 then return {} end
  local ids = {}
  for i = 1, #idle, 2 do ids[#ids + 1] = idle[i] end
  local infos = redis.call('HMGET', KEYS[5], unpack(ids))
  local serving = {}
  for n, id in ipairs(ids) do
    local ok, info = pcall(cjson.decode, infos[n] or '')
    if not ok or type(info) ~= 'table' then
      redis.call('ZREM', KEYS[3], id)
    elseif type(info.queues) == 'table' then
      for _, q in ipairs(info.queues) do
        if q == queue or (type(q) == 'string' and string.find(q, '*', 1, true) and string.find(queue, glob_pattern(q))) then
          serving[#serving + 1] = { id = id, room = tonumber(idle[2 * n]) }
          break
        end
      end
    end
  end
  return serving
end

-- RPUSHes the payloads from ARGV[first] on, in chunks that stay within Lua's unpack limit.
local function queue_from(first)
  for i = first, #ARGV, 5000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
  end
end

-- No idle worker serves the queue, or workers are paused (any value, as in reserve.lua): queue
-- them; nobody is to start anything.
local serving = idle_workers_serving()
if #serving == 0 or redis.call('GET', KEYS[4]) then
  queue_from(FIRST)
  return 0
end

local sep = '\0'
local next_payload = FIRST
if redis.call('LLEN', KEYS[2]) == 0 then
  local last_seq = redis.call('INCRBY', KEYS[6], count)
  local running = nil
  while next_payload <= #ARGV do
    local best = nil
    for _, w in ipairs(serving) do
      if w.room > 0 and (not best or w.room > best.room) then best = w end
    end
    if not best then break end
    local n = next_payload - FIRST + 1
    local entry = 'h' .. (last_seq - count + n) .. '#1' .. sep .. ARGV[5] .. sep .. queue .. sep .. ARGV[next_payload]
    local inflight = ARGV[2] .. best.id .. ':inflight'
    redis.call('RPUSH', inflight, entry)
    if redis.call('PUBLISH', ARGV[4] .. best.id, 'e' .. entry) == 0 then
      -- Nobody will run it. The script is atomic, so the list's last entry is the one just pushed.
      redis.call('RPOP', inflight)
      redis.call('ZREM', KEYS[3], best.id)
      best.room = 0
      best.gone = true
    else
      best.room = best.room - 1
      best.used = true
      if not best.record then
        best.record = true
        local record = ARGV[2] .. best.id
        if redis.call('EXISTS', record) == 0 then set_worker_record(record, best.id, entry) end
      end
      if tracked then
        if not running then
          local now = redis.call('TIME')[1]
          running = '{"status":2,"updated":' .. now .. ',"started":' .. now .. ',"result":null}'
        end
        redis.call('SET', KEYS[6 + n], running)
      end
      next_payload = next_payload + 1
    end
  end
end

queue_from(next_payload)
-- Jobs are left queued (the queue was not empty, or room ran out): idle workers serving it reserve.
-- A worker handed jobs keeps its place in the idle set with the room it has left; one already at 0
-- got its 'w' when its room ran out.
local queued = next_payload <= #ARGV
for _, w in ipairs(serving) do
  if not w.gone then
    if (queued and w.room > 0) or (w.used and w.room <= 0) then
      redis.call('ZADD', KEYS[3], 'XX', 0, w.id)
      redis.call('PUBLISH', ARGV[4] .. w.id, 'w')
    elseif w.used then
      redis.call('ZADD', KEYS[3], 'XX', w.room, w.id)
    end
  end
end
return next_payload - FIRST
