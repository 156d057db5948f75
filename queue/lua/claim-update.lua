-- Claim a platform update before answering it. KEYS: the update's "seen" key. ARGV: this
-- process's claim ("p:<instance>"), ttl seconds. Returns 1 when this process should answer it:
-- first sight, or a claim left by another process that died before answering (Telegram re-sends
-- what a killed bot never confirmed). 0: answered already ("d", or "1" from older versions), or
-- being answered by this process.
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if v == 'd' or v == '1' or v == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 1
