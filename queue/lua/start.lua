-- Running slot for a starting job, unless it has a tombstone (-1); confirms the idempotency claim;
-- reads one more key the job needs (its identity record). Free requests still unfinished count as running.
-- KEYS: tombstone, running, idem, pending, free[, read]. ARGV: max running, entry. Returns {state, value}.
local v = false
if KEYS[6] then v = redis.call('GET', KEYS[6]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, v} end
redis.call('SET', KEYS[3], 'added', 'XX', 'KEEPTTL')
-- Followers hear the job started (ARGV[3]: progress channel, '' = none; ARGV[4]: its notice).
local function started()
  if ARGV[3] and ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
  return {1, v}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return started() end
local n = redis.call('SCARD', KEYS[2])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if redis.call('SISMEMBER', KEYS[4], m) == 1 then n = n + 1 else redis.call('SREM', KEYS[5], m) end
end
if n >= tonumber(ARGV[1]) then return {0, v} end
redis.call('SADD', KEYS[2], ARGV[2])
return started()
