#include "server/redis/redis_scripts.h"

namespace tutti::server::redis {

// Numbers are formatted with %d: Lua 5.1 numbers are doubles, and plain concatenation
// would print a µs time (~1.7e15) in exponent form. Doubles hold them exactly (< 2^53).
const std::string_view kPublishScript = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0, 'time', 0)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'time') or '0')
if now < last then now = last end
local changes = tonumber(ARGV[8])
local states = tonumber(ARGV[9 + 4 * changes])
local base = 9 + 4 * changes + 10 * states
local total = #ARGV - base
local ms = math.floor(now / 1000)
-- Owner, settings and moderator changes first: one whose precondition fails is written
-- neither itself nor with its event (its index, in `refused`, tells the publisher).
local refused = {}
local refused_list = {}
local stale_list = {}
for j = 0, states - 1 do
  local at = 10 + 4 * changes + 10 * j
  local kind, user = ARGV[at], ARGV[at + 1]
  local event, actor, check = tonumber(ARGV[at + 6]), ARGV[at + 7], ARGV[at + 8]
  local exists = redis.call('HEXISTS', KEYS[6], 'room') == 1
  local write = (kind == 'n' or exists) and kind ~= 'c'
  local pass = true
  if check ~= '' and exists then
    -- The kept roles (nothing kept checks nothing): o the actor owns the room, m owns or
    -- moderates it, r owns it or moderates it while the target does neither.
    local owner = redis.call('HGET', KEYS[6], 'owner')
    local is_owner = owner == actor
    if check == 'o' then
      pass = is_owner
    elseif not is_owner then
      pass = redis.call('SISMEMBER', KEYS[7], actor) == 1
      if pass and check == 'r' then
        pass = user ~= owner and redis.call('SISMEMBER', KEYS[7], user) == 0
      end
    end
  end
  -- A settings change built on an older kept state than the one kept now would revert
  -- what was written since: refused unless the settings version is still its base.
  local stale = false
  if pass and ARGV[at + 9] ~= '' and exists and kind == 's' then
    local sv = tonumber(redis.call('HGET', KEYS[6], 'settings_version') or '0')
    if sv ~= tonumber(ARGV[at + 9]) then
      pass = false
      stale = true
    end
  end
  if not pass then
    write = false
    if stale then stale_list[#stale_list + 1] = event end
    if not refused[event] then
      refused[event] = true
      refused_list[#refused_list + 1] = event
    end
  elseif not write then
    -- nothing kept (a Redis that lost its data): a change alone is no state
  elseif kind == 'n' then
    if exists then
      local prefix = ARGV[at + 5] .. ':'
      local all = redis.call('HGETALL', KEYS[8])
      for i = 1, #all, 2 do
        -- Another engine's live member (a seat claimed for a join is nobody's yet).
        local expires, state = string.match(all[i + 1], '^(%d+):([^:]*):')
        expires = tonumber(expires)
        if string.sub(all[i], 1, #prefix) ~= prefix and expires and expires > ms and
            state ~= 'j' then
          write = false
        end
      end
    end
    if write then
      redis.call('DEL', KEYS[7])
      -- A new life of the room starts at the default tempo, not the last life's.
      redis.call('HDEL', KEYS[6], 'tempo')
      redis.call('HSET', KEYS[6], 'owner', user, 'room', ARGV[at + 2], 'password_hash',
                 ARGV[at + 3])
      redis.call('HINCRBY', KEYS[6], 'settings_version', 1)
      for id in string.gmatch(ARGV[at + 4], '[^\n]+') do redis.call('SADD', KEYS[7], id) end
    end
  elseif kind == 's' then
    redis.call('HSET', KEYS[6], 'room', ARGV[at + 2], 'password_hash', ARGV[at + 3])
    redis.call('HINCRBY', KEYS[6], 'settings_version', 1)
  elseif kind == 'o' then
    local old = redis.call('HGET', KEYS[6], 'owner')
    redis.call('HSET', KEYS[6], 'owner', user)
    redis.call('SREM', KEYS[7], user)
    if old and old ~= '' and old ~= user then redis.call('SADD', KEYS[7], old) end
  elseif kind == 't' then
    redis.call('HSET', KEYS[6], 'tempo', ARGV[at + 2])
  elseif kind == '+' then
    redis.call('SADD', KEYS[7], user)
  elseif kind == '-' then
    redis.call('SREM', KEYS[7], user)
  end
  if write then redis.call('HINCRBY', KEYS[6], 'version', 1) end
end
local n = total - #refused_list
local kept = false
local first = redis.call('HINCRBY', KEYS[1], 'offset', n) - n + 1
redis.call('HSET', KEYS[1], 'time', string.format('%d', now))
local head = epoch .. ':'
local tail = ':' .. string.format('%d', now) .. ':'
local next_offset = first
for i = 1, total do
  if not refused[i] then
    local off = string.format('%d', next_offset)
    next_offset = next_offset + 1
    local msg = head .. off .. tail .. ARGV[base + i]
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], string.format('%d', ms) .. '-' .. off,
               'm', msg)
    redis.call('PUBLISH', ARGV[1], msg)
    local mark = string.sub(ARGV[6], i, i)
    if mark == '2' then
      redis.call('DEL', KEYS[3])
      kept = false
    elseif mark == '1' then
      redis.call('RPUSH', KEYS[3], msg)
      kept = true
    end
  end
end
for j = 0, changes - 1 do
  local kind = ARGV[9 + 4 * j]
  local key = KEYS[4]
  if kind == 'm' or kind == 'M' then key = KEYS[5] end
  if refused[tonumber(ARGV[12 + 4 * j])] then
    -- its event was refused (its precondition failed): neither is written
  elseif kind == 'b' or kind == 'm' then
    redis.call('ZADD', key, ARGV[10 + 4 * j], ARGV[11 + 4 * j])
  else
    redis.call('ZREM', key, ARGV[11 + 4 * j])
  end
end
if changes > 0 then
  local over = '(' .. string.format('%d', ms)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', over)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', over)
end
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('EXPIRE', KEYS[5], ARGV[5])
redis.call('EXPIRE', KEYS[6], ARGV[5])
redis.call('EXPIRE', KEYS[7], ARGV[5])
if kept then
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[7]), -1)
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%d', ms - tonumber(ARGV[4])))
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {epoch, first, string.format('%d', now), refused_list, stale_list}
)lua";

const std::string_view kHistoryScript = R"lua(
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
if not meta[1] then return {'', 0} end
local top = tonumber(meta[2])
local out = {meta[1], top}
if meta[1] ~= ARGV[1] then return out end
local want = top - tonumber(ARGV[2])
if want <= 0 or want > tonumber(ARGV[3]) then return out end
local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', want)
for i = #entries, 1, -1 do out[#out + 1] = entries[i][2][2] end
return out
)lua";

const std::string_view kEnsureEpochScript = R"lua(
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local kept_run = redis.call('HGET', KEYS[1], 'run') or ARGV[3]
if epoch and ARGV[3] ~= '' and run ~= '' and kept_run ~= run then
  epoch = false
end
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0, 'time', 0)
end
if run ~= '' then redis.call('HSET', KEYS[1], 'run', run) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {epoch, tonumber(redis.call('HGET', KEYS[1], 'offset'))}
)lua";

const std::string_view kPresenceSetScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1],
           string.format('%d', now + ttl) .. ':' .. ARGV[3] .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
return 1
)lua";

const std::string_view kPresenceReadScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local live = {}
local gone = {}
for i = 1, #all, 2 do
  local expires = tonumber(string.match(all[i + 1], '^(%d+):'))
  local into = live
  if not (expires and expires > now) then
    redis.call('HDEL', KEYS[1], all[i])
    into = gone
  end
  into[#into + 1] = all[i]
  into[#into + 1] = all[i + 1]
end
return {live, gone}
)lua";

const std::string_view kSeatClaimScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
-- The kept bans and settings decide, not the joining node's copy, which may not have
-- been delivered another node's ban or settings change yet.
local ends = redis.call('ZSCORE', KEYS[2], ARGV[5])
if ends and (ends == 'inf' or (tonumber(ends) or 0) > now) then return 2 end
if ARGV[6] ~= '' and redis.call('HEXISTS', KEYS[3], 'room') == 1 then
  local sv = tonumber(redis.call('HGET', KEYS[3], 'settings_version') or '0')
  if sv ~= tonumber(ARGV[6]) then return 3 end
end
local all = redis.call('HGETALL', KEYS[1])
local taken = 0
local own = false
for i = 1, #all, 2 do
  local expires = tonumber(string.match(all[i + 1], '^(%d+):'))
  if expires and expires > now then
    if all[i] == ARGV[1] then
      own = true
    else
      taken = taken + 1
    end
  end
end
if taken >= tonumber(ARGV[3]) then return 0 end
if not own then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. ':j:' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 2 * ttl)
end
return 1
)lua";

const std::string_view kResumeKeepScript = R"lua(
if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'room', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
)lua";

const std::string_view kResumeTakeScript = R"lua(
local all = redis.call('HGETALL', KEYS[1])
if #all > 0 then
  redis.call('DEL', KEYS[1])
end
return all
)lua";

std::string_view ScriptText(int script) {
  switch (script) {
    case kPublish:
      return kPublishScript;
    case kHistory:
      return kHistoryScript;
    case kPresenceSet:
      return kPresenceSetScript;
    case kPresenceRead:
      return kPresenceReadScript;
    case kEnsureEpoch:
      return kEnsureEpochScript;
    case kResumeKeep:
      return kResumeKeepScript;
    case kSeatClaim:
      return kSeatClaimScript;
    default:
      return kResumeTakeScript;
  }
}

namespace {
std::string Tagged(std::string_view room, std::string_view suffix) {
  std::string k = "tutti:{";
  k.append(room);
  k.append("}");
  k.append(suffix);
  return k;
}
}  // namespace

std::string MetaKey(std::string_view room) { return Tagged(room, ":meta"); }
std::string LogKey(std::string_view room) { return Tagged(room, ":log"); }
std::string ChatKey(std::string_view room) { return Tagged(room, ":chat"); }
std::string PresenceKey(std::string_view room) { return Tagged(room, ":presence"); }
std::string BansKey(std::string_view room) { return Tagged(room, ":bans"); }
std::string MutesKey(std::string_view room) { return Tagged(room, ":mutes"); }
std::string StateKey(std::string_view room) { return Tagged(room, ":state"); }
std::string ModsKey(std::string_view room) { return Tagged(room, ":mods"); }
std::string Channel(std::string_view room) { return Tagged(room, ""); }
std::string ResumeKey(std::string_view key) {
  std::string k = "tutti:resume:{";
  k.append(key);
  k.append("}");
  return k;
}

}  // namespace tutti::server::redis
