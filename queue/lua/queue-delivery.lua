-- Included by finish.lua and enqueue-delivery.lua. Expects locals stream, queued, t1, t2, t3 (keys)
-- and id, user, data, ttl; leaves queued_ok true when it added the entry.
local queued_ok = false
if data ~= '' and redis.call('EXISTS', t1, t2, t3) == 0 and redis.call('SET', queued, id, 'NX', 'EX', ttl) then
  redis.call('XADD', stream, '*', 'id', id, 'user', user, 'attempt', '1', 'at', '0', 'data', data)
  queued_ok = true
end
