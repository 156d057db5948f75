-- Admit a request: idempotency claim, "a worker runs it", pending cap, daily quota and job index.
-- KEYS: idem, pending, quota, index, free set, capability keys...
-- ARGV: claim value, claim TTL, pending entry, max pending, daily quota, index score, max running, index members...
-- A request admitted while the user has no more unfinished requests than the running limit cannot
-- make that limit bind: it is marked free and its jobs start without start.lua's round trip; it
-- goes in the user's free set, which start.lua counts for the others.
-- Returns {'ok', '1' when free}, {'dup', state}, {'nocap', key}, {'pending', ''} or {'quota', ''}.
local cur = redis.call('GET', KEYS[1])
if cur then return {'dup', cur} end
for i = 6, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return {'nocap', KEYS[i]} end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 and redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {'pending', ''}
end
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if used >= tonumber(ARGV[5]) then return {'quota', ''} end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 172800)
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 8, #ARGV do redis.call('ZADD', KEYS[4], ARGV[6], ARGV[i]) end
if redis.call('SCARD', KEYS[2]) <= tonumber(ARGV[7]) then
  redis.call('SADD', KEYS[5], ARGV[3])
  redis.call('EXPIRE', KEYS[5], 172800)
  return {'ok', '1'}
end
return {'ok', ''}
