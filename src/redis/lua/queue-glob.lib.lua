-- Shared by the scripts that include it with `-- @include queue-glob`.
-- A worker's queue list may hold globs: '*' (every queue) or a name with '*' ('mail*'). The Lua
-- pattern that matches the queue names a glob stands for:
local function glob_pattern(glob)
  return '^' .. string.gsub(string.gsub(glob, '[%^%$%(%)%%%.%[%]%+%-%?]', '%%%0'), '%*', '.*') .. '$'
end
