-- A finished job's bookkeeping and its request's reply in one script: duration (for estimates),
-- running slot, pending entries, and the delivery (so a finished job and its reply cannot part).
-- KEYS: durations, running, pending, then the delivery's five (stream, queued marker, three tombstones).
-- ARGV: ms, running entry ('' = none), delivery id, user, data ('' = no delivery), ttl,
-- progress channel ('' = none), its notice, pending entries...
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, 49)
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[2]) end
for i = 9, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
-- Followers hear the request ended in this same round trip (queue/progress-feed.ts).
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
local stream, queued, t1, t2, t3 = KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, user, data, ttl = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- #include queue-delivery
return queued_ok and 1 or 0
