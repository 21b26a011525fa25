-- Shared by the scripts that include it with `-- @include pause-flag`.

-- Whether the value of `pause-all-workers` (a GET/MGET result: false when the key is missing)
-- pauses workers. Ruby's rule (Resque::Worker#paused?): the value, stripped and lower-cased, is
-- "true". So "false", or anything else, leaves Ruby's workers running, and ours with them.
local function pause_flag_set(value)
  return value and string.lower(string.match(value, '^%s*(.-)%s*$')) == 'true'
end
