-- Queue a request's reply unless it was cancelled or already has one.
-- KEYS: stream, queued marker, three tombstones. ARGV: id, user, data, ttl. Returns 1 when added.
local stream, queued, t1, t2, t3 = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, user, data, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- #include queue-delivery
return queued_ok and 1 or 0
