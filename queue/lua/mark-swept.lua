-- Remember files the retention sweep deleted (hashes), only for users the job layer still knows.
-- KEYS: swept set, profile, job index. ARGV: now, cutoff, ttl, hashes...
if redis.call('EXISTS', KEYS[2], KEYS[3]) == 0 then return 0 end
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
