--[[
  Schedule one run of a recurring job (scheduler.schedule) once, however many schedulers (`start`
  and `work` processes, on any host) see it due: the first to call for a run claims it in the
  last-runs hash, and the run goes to resque-scheduler's delayed queue, due at once, in the layout
  enqueueAt writes. schedule.lua then puts it on its queue as any scheduled job (or Ruby's
  resque-scheduler does, while it leads). A claim only moves forward, so a scheduler whose clock
  runs behind cannot schedule a run again. A job not in the hash yet (new, renamed, or with a new
  pattern) is only entered: its first run is the next one, as resque-scheduler starts a schedule.

  KEYS[1]  last run handled of each recurring job, HASH [name, pattern, zone] -> unix s
                                         (<ns>:rw:recurring)
  KEYS[2]  delayed_queue_schedule        (<ns>:delayed_queue_schedule)
  KEYS[3]  the run's timestamp list      (<ns>:delayed:<timestamp>)
  KEYS[4]  the item's timestamps set     (<ns>:timestamps:<item>)
  ARGV[1]  the recurring job's field     (recurringRunsField: a changed pattern starts afresh)
  ARGV[2]  the run's time, unix s (the timestamp)
  ARGV[3]  the item {"class","args","queue","id"}
  ARGV[4]  the timestamps set's member   (delayed:<timestamp>, without the namespace, as Ruby's)
  ARGV[5]  1 if the run may still be scheduled, 0 if it is too late (missed: only claimed)
  Returns {1 if this call scheduled the run, 2 if it claimed a missed one, 0 if the run was
  claimed already or the job was first seen; the last run claimed before this call, or false}.
]]

local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local at = tonumber(ARGV[2])
if last and last >= at then return { 0, last } end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if not last then return { 0, false } end
if ARGV[5] ~= '1' then return { 2, last } end
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
return { 1, last }
