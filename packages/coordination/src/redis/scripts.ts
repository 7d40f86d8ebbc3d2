/**
 * Lua scripts of the Redis lock. Each runs atomically on the server, so a check and the write that depends on it
 * cannot interleave with another client's commands. Sent with EVAL (Redis caches the compiled script by its SHA1);
 * no EVALSHA bookkeeping to lose on a server restart.
 */

/**
 * KEYS[1] lock key, KEYS[2] fence counter; ARGV[1] token, ARGV[2] lease in ms.
 * Returns the new fencing token as a string (exact beyond 2^53), or nil when the key is held.
 * The INCR runs only on success and in the same script, so a granted lock's token is greater than every earlier
 * holder's for as long as Redis keeps the counter.
 */
export const ACQUIRE_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return tostring(redis.call('INCR', KEYS[2]))
end
return false
`;

/** KEYS[1] lock key; ARGV[1] token, ARGV[2] lease in ms. Returns 1 when the lease was extended, 0 when not ours. */
export const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS[1] lock key; ARGV[1] token. Returns 1 when deleted, 0 when the key was not ours (expired, taken, released). */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;
