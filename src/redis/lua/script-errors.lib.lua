-- Shared by the scripts that include it with `-- @include script-errors`.
-- For the writes a script makes after its first, which must not abort it half-way (Redis keeps
-- what a script wrote before an error): whether a redis.pcall reply is an error, a line in Redis's
-- log (the one place a script can say what it skipped), and a write that is skipped, logged, when
-- its key has the wrong type (a counter someone overwrote).

local function is_error(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

-- Bad data in Redis (a key of the wrong type), as opposed to Redis refusing writes (OOM, MISCONF,
-- READONLY): a refusal refuses a script's first write, so nothing is written yet and the error can
-- go to the caller, which tries again.
local function wrong_type(reply)
  return string.sub(reply.err, 1, 9) == 'WRONGTYPE'
end

local function warn(script, message)
  redis.log(redis.LOG_WARNING, 'resque-worker: ' .. script .. ': ' .. message)
end

local function best_effort(script, command, key, ...)
  local reply = redis.pcall(command, key, ...)
  if is_error(reply) then warn(script, command .. ' ' .. key .. ': ' .. reply.err) end
end
