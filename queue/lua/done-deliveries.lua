-- Finish entries. KEYS: stream, then one marker per entry (the stream key again for "no marker").
-- ARGV: group, ttl, then the entries' stream ids. A marker is set only when its entry still existed
-- (a forget that deleted it first must not see a key re-created).
for i = 3, #ARGV do
  local existed = redis.call('XDEL', KEYS[1], ARGV[i])
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  local marker = KEYS[i - 1]
  if existed == 1 and marker ~= KEYS[1] then redis.call('SET', marker, ARGV[i], 'EX', ARGV[2]) end
end
return 1
