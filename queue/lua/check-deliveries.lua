-- Per entry (4 keys: three tombstones, delivered marker): 0 = send, 1 = cancelled, 2 = already delivered.
local out = {}
for i = 1, #KEYS, 4 do
  if redis.call('EXISTS', KEYS[i], KEYS[i + 1], KEYS[i + 2]) > 0 then out[#out + 1] = 1
  elseif redis.call('EXISTS', KEYS[i + 3]) == 1 then out[#out + 1] = 2
  else out[#out + 1] = 0 end
end
return out
