--[[
  Mark tracked jobs as running (php-resque status 2). Only an existing status key is updated, as
  php-resque does: a job enqueued without tracking gets none.

  KEYS[1..] php-resque status keys       (<ns>:job:<id>:status)
  ARGV[1]  now, unix seconds
  Returns the number of statuses updated.
]]
local now = ARGV[1]
local updated = 0
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current then
    local ok, old = pcall(cjson.decode, current)
    local started = (ok and type(old) == 'table' and old.started) or tonumber(now)
    redis.call('SET', key, '{"status":2,"updated":' .. now .. ',"started":' .. cjson.encode(started) .. ',"result":null}', 'KEEPTTL')
    updated = updated + 1
  end
end
return updated
