-- One GCRA decision, atomically (Redis runs a script to completion before anything else).
-- KEYS[1]  the caller's key: it holds the theoretical arrival time (TAT) in microseconds.
-- ARGV[1]  the emission interval in microseconds (window / limit).
-- ARGV[2]  the burst: requests a quiet caller may send at once.
-- Returns {allowed (1|0), remaining, retry_after_us, reset_us}.
--
-- The time is Redis's own (TIME), not the caller's, so nodes with skewed clocks agree on
-- one timeline. Redis >= 5 replicates a script's effects rather than the script, which is
-- what makes a non-deterministic command like TIME allowed before a write.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tau = interval * (burst - 1)
local t = redis.call('TIME')
-- Microseconds since the epoch are about 1.8e15: exact in a Lua number (a double, 2^53).
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local allow_at = tat - tau
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local new_tat = tat + interval
-- The key lives exactly until the caller's whole burst is back: from then on a missing key
-- and the stored one mean the same, so Redis holds nothing for idle callers.
local ttl_ms = math.ceil((new_tat - now) / 1000)
-- '%.0f': tostring would print 1.8e+15 and lose the microseconds.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
local remaining = math.floor((now + tau - new_tat) / interval) + 1
if remaining < 0 then
  remaining = 0
end
return {1, remaining, 0, new_tat - now}
