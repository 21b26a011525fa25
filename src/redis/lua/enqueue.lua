--[[
  Push payloads onto a queue the way Resque does (RPUSH + SADD queues, atomically), optionally
  create php-resque status keys, and get the jobs going at once when workers of ours wait for work.

  Hand-off: while the queue is empty (so no queued job is overtaken) and workers are not paused,
  each payload goes straight into the in-flight list of the idle worker (<ns>:rw:idle, written
  by reserve.lua) with the most room that serves this queue, and is PUBLISHed to that worker, which
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
  KEYS[3..] status key per payload     (<ns>:job:<id>:status), only when ARGV[3] is not ''
  ARGV[1]  key prefix                  ('<ns>:'), naming our keys below (keys.ts spells the same)
  ARGV[2]  queue name
  ARGV[3]  '1': create php-resque statuses (waiting, stamped with Redis' clock); '': none
  ARGV[4..] payload JSON, one per job: a JSON object as our client builds it (buildPayload), so a
           worker record embeds it as it is
  Returns the number of jobs handed off.

  Keys named from ARGV[1], so that a one-job enqueue sends 6 arguments, not 12 (each costs the
  client and Redis about as much as the script's own work):
    <ns>:rw:idle               idle workers zset: worker id -> jobs it can take (reserve.lua)
    <ns>:pause-all-workers     pause flag
    <ns>:rw:workers            our workers hash: worker id -> JSON with its `queues`
    <ns>:rw:hand-off-seq       counter that makes handed-off entries unique
    <ns>:worker:<id>           Ruby's in-flight record; <ns>:worker:<id>:inflight our list
    <ns>:rw:worker:<id>        the worker's channel

  Keys named inside the script are fine on a single Redis, as Resque's layout is; not Cluster-safe.
  Order is kept per queue: a worker on several queues may be handed a job of a lower one while a
  peer's client has just pushed to a higher one (its next reserve takes that).
]]
-- @include worker-record
-- @include queue-glob
-- @include status-key
-- @include iso-time
-- @include pause-flag
-- @include script-errors

local FIRST = 4
local ns = ARGV[1]
local queue = ARGV[2]
local count = #ARGV - FIRST + 1
local tracked = ARGV[3] ~= ''
local idle_key = ns .. 'rw:idle'
local queue_json = nil -- cjson's encoding of the queue name, once an idle worker is there
local now = tracked and redis.call('TIME')[1] or nil
redis.call('SADD', KEYS[1], queue)

-- Whether a worker record (heartbeat.lua: cjson's encoding of host, pidns, pid, beat, queues) lists
-- a JSON string in its queue list, without decoding it: the string between '[' or ',' and ',' or
-- ']' (the four forms element_forms makes). Only an array element can match: inside a JSON string
-- every '"' is escaped, and the record's only array is its queue list. Both sides are cjson's
-- encoding, so they agree byte for byte.
local function element_forms(json)
  return { '[' .. json .. ']', '[' .. json .. ',', ',' .. json .. ',', ',' .. json .. ']' }
end

local function lists(record, element)
  return string.find(record, element[1], 1, true) or string.find(record, element[2], 1, true)
    or string.find(record, element[3], 1, true) or string.find(record, element[4], 1, true)
end

-- A record with a glob other than '*' in its queue list is decoded and each glob matched.
local function glob_serves(record)
  local ok, info = pcall(cjson.decode, record)
  if not ok or type(info) ~= 'table' or type(info.queues) ~= 'table' then return false end
  for _, q in ipairs(info.queues) do
    if q == queue or (type(q) == 'string' and string.find(q, '*', 1, true) and string.find(queue, glob_pattern(q))) then
      return true
    end
  end
  return false
end

-- Idle workers whose queue list names this queue, or a glob matching it, by room. Only the 100 with
-- the most room are looked at, which bounds an enqueue's cost; beyond that (more idle worker
-- processes than any pool we know of) a job is queued and found by a reserve or a poll. A member
-- without a record in our workers hash was pruned (dead): it leaves the idle set. Records are
-- matched as text, not decoded: a hand-off's Redis time is pickup latency, and decoding each idle
-- worker's record was a sizeable part of it.
local function idle_workers_serving()
  local idle = redis.call('ZREVRANGE', idle_key, 0, 99, 'WITHSCORES')
  if #idle == 0 then return {} end
  local ids = {}
  for i = 1, #idle, 2 do ids[#ids + 1] = idle[i] end
  local records = redis.call('HMGET', ns .. 'rw:workers', unpack(ids))
  queue_json = cjson.encode(queue)
  local this_queue = element_forms(queue_json)
  local every_queue = { '["*"]', '["*",', ',"*",', ',"*"]' }
  local serving = {}
  for n, id in ipairs(ids) do
    local record = records[n]
    if not record then
      redis.call('ZREM', idle_key, id)
    elseif lists(record, this_queue) or lists(record, every_queue)
      or (string.find(record, '*', 1, true) and glob_serves(record)) then
      serving[#serving + 1] = { id = id, room = tonumber(idle[2 * n]) }
    end
  end
  return serving
end

-- RPUSHes the payloads from ARGV[first] on, in chunks that stay within Lua's unpack limit, then
-- marks them waiting: after the push, so a queue key of the wrong type (an error, the client is
-- told) leaves no status stuck at waiting.
local function queue_from(first)
  for i = first, #ARGV, 5000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
  end
  if tracked and first <= #ARGV then
    local waiting = status_record(1, now, nil, 'null')
    for i = first, #ARGV do
      redis.call('SET', KEYS[2 + i - FIRST + 1], waiting)
    end
  end
end

-- No idle worker serves the queue, or workers are paused: queue them; nobody is to start anything.
-- MGET, as reserve.lua reads the flag: a key of the wrong type reads as unset instead of raising
-- after the writes above.
local serving = idle_workers_serving()
if #serving == 0 or pause_flag_set(redis.call('MGET', ns .. 'pause-all-workers')[1]) then
  queue_from(FIRST)
  return 0
end

local sep = '\0'
local next_payload = FIRST
if redis.call('LLEN', KEYS[2]) == 0 then
  local last_seq = redis.call('INCRBY', ns .. 'rw:hand-off-seq', count)
  local run_at = iso8601_utc(tonumber(now or redis.call('TIME')[1])) -- digits and '-:TZ': no escaping
  local running = nil
  while next_payload <= #ARGV do
    local n = next_payload - FIRST + 1
    local seq = last_seq - count + n
    -- The worker with the most room (the least busy, finish.lua gives room back); among equals,
    -- each in turn by the hand-off number, as BRPOP serves the longest-waiting client.
    local most = 0
    for _, w in ipairs(serving) do
      if w.room > most then most = w.room end
    end
    if most <= 0 then break end
    local tied = {}
    for _, w in ipairs(serving) do
      if w.room == most then tied[#tied + 1] = w end
    end
    local best = tied[seq % #tied + 1]
    local entry = 'h' .. seq .. '#1' .. sep .. run_at .. sep .. queue .. sep .. ARGV[next_payload]
    local inflight = ns .. 'worker:' .. best.id .. ':inflight'
    -- pcall: earlier payloads may be handed off already, and an error now would keep them while
    -- the client, told the enqueue failed, sends them all again.
    local pushed = redis.pcall('RPUSH', inflight, entry)
    local delivered = false
    if is_error(pushed) then
      warn('enqueue', 'RPUSH ' .. inflight .. ': ' .. pushed.err .. '; worker left out of hand-offs')
    elseif redis.call('PUBLISH', ns .. 'rw:worker:' .. best.id, 'e' .. entry) == 0 then
      -- Nobody will run it. The script is atomic, so the list's last entry is the one just pushed.
      redis.call('RPOP', inflight)
    else
      delivered = true
    end
    if not delivered then
      redis.call('ZREM', idle_key, best.id)
      best.room = 0
      best.gone = true
    else
      best.room = best.room - 1
      best.used = true
      if not best.record then
        best.record = true
        local record = ns .. 'worker:' .. best.id
        if redis.call('EXISTS', record) == 0 then
          local payload = ARGV[next_payload]
          -- Ours (ARGV above), so no JSON check; anything else is embedded as a JSON string.
          if string.byte(payload, 1) ~= 123 then payload = cjson.encode(payload) end -- '{'
          redis.call('SET', record, worker_record_json(queue_json, '"' .. run_at .. '"', payload, best.id))
        end
      end
      if tracked then
        running = running or status_record(2, now, nil, 'null')
        redis.call('SET', KEYS[2 + n], running)
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
      redis.call('ZADD', idle_key, 'XX', 0, w.id)
      redis.call('PUBLISH', ns .. 'rw:worker:' .. w.id, 'w')
    elseif w.used then
      redis.call('ZADD', idle_key, 'XX', w.room, w.id)
    end
  end
end
return next_payload - FIRST
