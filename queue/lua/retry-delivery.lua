-- Retry later: re-add with the next attempt and a not-before time, drop the old entry.
-- KEYS: stream. ARGV: group, old id, id, user, attempt, at, data.
if redis.call('XDEL', KEYS[1], ARGV[2]) == 0 then redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'id', ARGV[3], 'user', ARGV[4], 'attempt', ARGV[5], 'at', ARGV[6], 'data', ARGV[7])
return 1
