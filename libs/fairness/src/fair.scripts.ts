/**
 * The fair dispatcher's Redis side. Every structure of a queue lives under one base key (`<prefix>:fair:<queue>`),
 * so under a hash-tagged prefix all of them share a Redis Cluster slot with the queue's BullMQ keys; the scripts
 * derive their keys from that base (KEYS[1] names it for the slot).
 *
 *   <base>:lane:<tenant>      ZSET  job id → lane score (priority with ageing, see laneScore): the tenant's waiting jobs
 *   <base>:later              ZSET  job id → not-before (ms): jobs not due yet (runAt, retry backoff)
 *   <base>:where              HASH  job id → "<tenant>|<lane score>" for every job in a lane or in later
 *   <base>:spec               HASH  job id → the BullMQ job to add at admission, for jobs not yet in BullMQ at all
 *   <base>:ready              ZSET  tenant → virtual time, for tenants with waiting jobs
 *   <base>:vt                 the virtual time of the last pick: a tenant that starts waiting joins at it
 *   <base>:owner              HASH  job id → tenant, for every admitted job not yet finished (in flight)
 *   <base>:inflight:<tenant>  ZSET  job id → admitted at (ms)
 *   <base>:bucket:<tenant>    HASH  token bucket for the tenant's admission rate
 *   <base>:done:<minute>      HASH  tenant → jobs finished in that minute (throughput), kept an hour
 *   <prefix>:fair-cfg:<tenant> HASH weight, max:<queue>, rate:<queue>: the tenant's own settings (absent: defaults)
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const JOIN = `
local function join(base, tenant, vt)
  if not redis.call('ZSCORE', base .. ':ready', tenant) then redis.call('ZADD', base .. ':ready', vt, tenant) end
end
`;

/**
 * ARGV: base, window, then per job: id, tenant, lane score, not-before (ms, 0 = now), spec ('' when the job is in
 * BullMQ already, parked). Returns { how many were put in a lane, room left in the window (window minus admitted
 * jobs) }. A job already waiting keeps its place.
 */
export const ENQUEUE = `${NOW}${JOIN}
local base, window = ARGV[1], tonumber(ARGV[2])
local vt = tonumber(redis.call('GET', base .. ':vt') or '0')
local n = 0
-- A command per structure for up to 1,000 jobs at a time, rather than a handful per job.
for s = 3, #ARGV, 5000 do
  local last = math.min(#ARGV, s + 4999)
  local ids = {}
  for i = s, last, 5 do ids[#ids + 1] = ARGV[i] end
  local owners = redis.call('HMGET', base .. ':owner', unpack(ids))
  local places = redis.call('HMGET', base .. ':where', unpack(ids))
  local seen, where, specs, later, lanes, tenants = {}, {}, {}, {}, {}, {}
  for j, id in ipairs(ids) do
    local i = s + (j - 1) * 5
    local tenant, score, notBefore, spec = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
    -- A job admitted or waiting already, enqueued again (a duplicate add, a reconciler racing a request), keeps its
    -- place; so does the second of two entries for one job in the same call.
    if not owners[j] and not places[j] and not seen[id] then
      seen[id] = true
      where[#where + 1] = id
      where[#where + 1] = tenant .. '|' .. score
      if spec ~= '' then
        specs[#specs + 1] = id
        specs[#specs + 1] = spec
      end
      if notBefore > now then
        later[#later + 1] = notBefore
        later[#later + 1] = id
      else
        if not lanes[tenant] then lanes[tenant] = {}; tenants[#tenants + 1] = tenant end
        table.insert(lanes[tenant], score)
        table.insert(lanes[tenant], id)
      end
      n = n + 1
    end
  end
  if #where > 0 then redis.call('HSET', base .. ':where', unpack(where)) end
  if #specs > 0 then redis.call('HSET', base .. ':spec', unpack(specs)) end
  if #later > 0 then redis.call('ZADD', base .. ':later', unpack(later)) end
  for _, tenant in ipairs(tenants) do
    redis.call('ZADD', base .. ':lane:' .. tenant, unpack(lanes[tenant]))
    join(base, tenant, vt)
  end
end
return { n, window - redis.call('HLEN', base .. ':owner') }
`;

/**
 * One dispatch cycle. ARGV: base, cfg prefix, queue, window (admitted jobs at most, all tenants; 0 = none),
 * default weight, default max in flight, default rate, most picks, then ids of jobs that finished (released first).
 * Returns { {tenant, id, spec ('' when parked in BullMQ), ...}, next (ms epoch when a rate-limited tenant or a later
 * job is due; -1) }.
 */
export const CYCLE = `${NOW}${JOIN}
local base, cfgPrefix, queue = ARGV[1], ARGV[2], ARGV[3]
local window, want = tonumber(ARGV[4]), tonumber(ARGV[8])
local defWeight, defMax, defRate = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ready, owner, where = base .. ':ready', base .. ':owner', base .. ':where'

-- Releases, a command per structure rather than per job: which tenant held each slot, then each tenant's share.
local doneKey = base .. ':done:' .. math.floor(now / 60000)
for s = 9, #ARGV, 1000 do
  local ids, seen = {}, {}
  for i = s, math.min(#ARGV, s + 999) do
    if not seen[ARGV[i]] then seen[ARGV[i]] = true; ids[#ids + 1] = ARGV[i] end
  end
  local holders = redis.call('HMGET', owner, unpack(ids))
  local byTenant, tenants, held = {}, {}, {}
  for j, id in ipairs(ids) do
    local tenant = holders[j]
    if tenant then
      held[#held + 1] = id
      if not byTenant[tenant] then byTenant[tenant] = {}; tenants[#tenants + 1] = tenant end
      table.insert(byTenant[tenant], id)
    end
  end
  if #held > 0 then
    redis.call('HDEL', owner, unpack(held))
    for _, tenant in ipairs(tenants) do
      redis.call('ZREM', base .. ':inflight:' .. tenant, unpack(byTenant[tenant]))
      redis.call('HINCRBY', doneKey, tenant, #byTenant[tenant])
    end
    redis.call('EXPIRE', doneKey, 3900)
  end
end

local vt = tonumber(redis.call('GET', base .. ':vt') or '0')
local due = redis.call('ZRANGEBYSCORE', base .. ':later', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', base .. ':later', id)
  local w = redis.call('HGET', where, id)
  if w then
    local sep = string.find(w, '|', 1, true)
    local tenant = string.sub(w, 1, sep - 1)
    redis.call('ZADD', base .. ':lane:' .. tenant, tonumber(string.sub(w, sep + 1)), id)
    join(base, tenant, vt)
  end
end

local function takeToken(key, rate)
  local b = redis.call('HMGET', key, 'tokens', 'ts')
  local cap = math.max(1, rate)
  local tokens = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
  local wait = 0
  if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, 60000)
  return wait
end

local picked, nextAt, count = {}, -1, 0
local total = redis.call('HLEN', owner)
local blocked = {}
while count < want and (window > 0 and total < window) do
  local tenants = redis.call('ZRANGE', ready, 0, -1, 'WITHSCORES')
  local chosen = nil
  for j = 1, #tenants, 2 do
    local tenant, pass = tenants[j], tonumber(tenants[j + 1])
    if not blocked[tenant] then
      local lane = base .. ':lane:' .. tenant
      local head = redis.call('ZRANGE', lane, 0, 0)
      if #head == 0 then
        redis.call('ZREM', ready, tenant)
      else
        local cfg = redis.call('HMGET', cfgPrefix .. tenant, 'weight', 'max:' .. queue, 'rate:' .. queue)
        local weight, max, rate = tonumber(cfg[1]) or defWeight, tonumber(cfg[2]) or defMax, tonumber(cfg[3]) or defRate
        local room = want
        if max > 0 then room = max - redis.call('ZCARD', base .. ':inflight:' .. tenant) end
        local ok = room > 0
        if ok and rate > 0 then
          local wait = takeToken(base .. ':bucket:' .. tenant, rate)
          if wait > 0 then
            ok = false
            if nextAt < 0 or now + wait < nextAt then nextAt = now + wait end
          end
        end
        if ok then
          -- Alone (every other waiting tenant is held back this cycle) and not rate-paced, it would be picked again
          -- and again until its cap, the window or the cycle's picks run out: those picks are taken in one go.
          local alone = rate <= 0
          for k = 1, #tenants, 2 do
            if alone and tenants[k] ~= tenant and not blocked[tenants[k]] then alone = false end
          end
          local n = alone and math.min(room, want - count, window - total) or 1
          chosen = { tenant, pass, weight, lane, n, head }
          break
        end
        -- Held back by its own cap or rate: it banks no credit for the time it could not use.
        blocked[tenant] = true
        if pass < vt then redis.call('ZADD', ready, vt, tenant) end
      end
    end
  end
  if not chosen then break end
  local tenant, pass, weight, lane, n = chosen[1], chosen[2], chosen[3], chosen[4], chosen[5]
  -- A single pick is the head read above; more are read in one range.
  local ids = n > 1 and redis.call('ZRANGE', lane, 0, n - 1) or chosen[6]
  local owned, admitted = {}, {}
  for _, id in ipairs(ids) do
    owned[#owned + 1] = id
    owned[#owned + 1] = tenant
    admitted[#admitted + 1] = now
    admitted[#admitted + 1] = id
  end
  redis.call('ZREM', lane, unpack(ids))
  redis.call('HDEL', where, unpack(ids))
  redis.call('HSET', owner, unpack(owned))
  redis.call('ZADD', base .. ':inflight:' .. tenant, unpack(admitted))
  total = total + #ids
  count = count + #ids
  -- Each pick costs 1/weight of virtual time, added one at a time as single picks would (the same rounding).
  for _ = 1, #ids do
    if pass > vt then vt = pass end
    pass = pass + 1 / math.max(0.01, weight)
  end
  if redis.call('ZCARD', lane) == 0 then
    redis.call('ZREM', ready, tenant)
  else
    redis.call('ZADD', ready, pass, tenant)
  end
  local specs = redis.call('HMGET', base .. ':spec', unpack(ids))
  for j, id in ipairs(ids) do
    picked[#picked + 1] = tenant
    picked[#picked + 1] = id
    picked[#picked + 1] = specs[j] or ''
  end
  redis.call('HDEL', base .. ':spec', unpack(ids))
end
redis.call('SET', base .. ':vt', tostring(vt))
local laterHead = redis.call('ZRANGE', base .. ':later', 0, 0, 'WITHSCORES')
if #laterHead > 0 then
  local t = tonumber(laterHead[2])
  if nextAt < 0 or t < nextAt then nextAt = t end
end
return { picked, tostring(nextAt) }
`;

/** ARGV: base, then ids. Takes jobs out of their lanes (cancelled before admission). Returns how many it found. */
export const REMOVE = `
local base = ARGV[1]
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local w = redis.call('HGET', base .. ':where', id)
  if w then
    local tenant = string.sub(w, 1, string.find(w, '|', 1, true) - 1)
    redis.call('ZREM', base .. ':lane:' .. tenant, id)
    redis.call('ZREM', base .. ':later', id)
    redis.call('HDEL', base .. ':where', id)
    redis.call('HDEL', base .. ':spec', id)
    n = n + 1
  end
end
return n
`;

/**
 * Repairs after crashes. ARGV: base, the queue's job key prefix, its delayed key, the lowest delayed score of a parked
 * job, and the age (ms) past which an admitted job still parked counts as stranded.
 * - An admitted job whose BullMQ job finished is released (its worker died before saying so), and so is one still
 *   missing from BullMQ after that age (the admitting process died before adding it; its reconciler re-enqueues it).
 * Returns { stranded: admitted but still parked (the admitting process died before promoting it),
 *           orphans: parked but neither in a lane nor admitted (the enqueuing process died in between) }.
 */
export const AUDIT = `${NOW}
local base, jobPrefix, delayed, parkedFrom, strandedAfter = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local owner = base .. ':owner'
local entries = redis.call('HGETALL', owner)
local released, stranded = 0, {}
for i = 1, #entries, 2 do
  local id, tenant = entries[i], entries[i + 1]
  local key = jobPrefix .. id
  local at = tonumber(redis.call('ZSCORE', base .. ':inflight:' .. tenant, id) or now)
  local old = now - at > strandedAfter
  -- A job admitted from its spec is added just after admission: missing, it counts as gone only once old.
  if redis.call('HEXISTS', key, 'finishedOn') == 1 or (old and redis.call('EXISTS', key) == 0) then
    redis.call('HDEL', owner, id)
    redis.call('ZREM', base .. ':inflight:' .. tenant, id)
    released = released + 1
  elseif old and redis.call('ZSCORE', delayed, id) and tonumber(redis.call('ZSCORE', delayed, id)) >= tonumber(parkedFrom) then
    stranded[#stranded + 1] = id
  end
end
local orphans = {}
local parked = redis.call('ZRANGEBYSCORE', delayed, parkedFrom, '+inf', 'LIMIT', 0, 5000)
for _, id in ipairs(parked) do
  if redis.call('HEXISTS', base .. ':where', id) == 0 and redis.call('HEXISTS', owner, id) == 0 then
    orphans[#orphans + 1] = id
  end
end
return { released, stranded, orphans }
`;

/**
 * Per-tenant view. ARGV: base. Returns a flat list: tenant, waiting (in its lane), in flight, finished in the last full
 * minute, finished this minute so far, the job at the head of its lane ('' if none) and that job's spec ('' if it is
 * parked in BullMQ) — for every tenant with any.
 */
/** ARGV: base, then ids. Returns 1 for each id waiting in a lane or admitted, else 0. */
export const HOLDS = `
local base = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  out[#out + 1] = (redis.call('HEXISTS', base .. ':where', id) == 1 or redis.call('HEXISTS', base .. ':owner', id) == 1) and 1 or 0
end
return out
`;

export const STATS = `${NOW}
local base = ARGV[1]
local minute = math.floor(now / 60000)
local seen, order = {}, {}
local function note(tenant) if not seen[tenant] then seen[tenant] = true; order[#order + 1] = tenant end end
for _, t in ipairs(redis.call('ZRANGE', base .. ':ready', 0, -1)) do note(t) end
for _, t in ipairs(redis.call('HVALS', base .. ':owner')) do note(t) end
local last = redis.call('HGETALL', base .. ':done:' .. (minute - 1))
local this = redis.call('HGETALL', base .. ':done:' .. minute)
local lastBy, thisBy = {}, {}
for i = 1, #last, 2 do lastBy[last[i]] = tonumber(last[i + 1]); note(last[i]) end
for i = 1, #this, 2 do thisBy[this[i]] = tonumber(this[i + 1]); note(this[i]) end
local out = {}
for _, t in ipairs(order) do
  out[#out + 1] = t
  out[#out + 1] = redis.call('ZCARD', base .. ':lane:' .. t)
  out[#out + 1] = redis.call('ZCARD', base .. ':inflight:' .. t)
  out[#out + 1] = lastBy[t] or 0
  out[#out + 1] = thisBy[t] or 0
  local head = redis.call('ZRANGE', base .. ':lane:' .. t, 0, 0)[1] or ''
  out[#out + 1] = head
  out[#out + 1] = (head ~= '' and redis.call('HGET', base .. ':spec', head)) or ''
end
local laterCount = redis.call('ZCARD', base .. ':later')
return { out, laterCount, now }
`;
