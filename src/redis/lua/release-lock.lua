--[[
  Release a lock only if we still hold it (its value is our token): a holder whose lock expired
  must not delete the lock a later holder took.

  KEYS[1]  the lock                      (<ns>:rw:prune-lock)
  ARGV[1]  our token
  Returns 1 if released, 0 if the lock was no longer ours.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
