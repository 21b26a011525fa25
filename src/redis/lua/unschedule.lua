--[[
  Take one scheduled item out of resque-scheduler's delayed queue (ResqueClient.removeScheduled,
  cancelScheduled): as its remove_delayed does, the item leaves its timestamp's list, the list's
  key leaves the item's timestamps set once no copy is left there, and the timestamp leaves the
  schedule once its list is empty. The item is matched byte for byte; one that schedule.lua moved
  meanwhile is not there, and nothing is removed.

  KEYS[1]  delayed_queue_schedule        (<ns>:delayed_queue_schedule)
  KEYS[2]  the timestamp's list          (<ns>:delayed:<timestamp>)
  KEYS[3]  the item's timestamps set     (<ns>:timestamps:<item>)
  ARGV[1]  the item, as stored
  ARGV[2]  the timestamp
  Returns 1 if the item was removed, 0 if it was not there.
]]

if redis.call('LREM', KEYS[2], 1, ARGV[1]) == 0 then return 0 end
-- The member as Ruby writes it (no namespace), and as node-resque does; a set of the wrong type
-- is left as it is, the item being out already.
if not redis.call('LPOS', KEYS[2], ARGV[1]) then redis.pcall('SREM', KEYS[3], 'delayed:' .. ARGV[2], KEYS[2]) end
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[2])
end
return 1
