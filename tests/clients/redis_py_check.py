"""Exercises a server with redis-py (Debian's python3-redis) the way applications use it.

usage: python3 redis_py_check.py PORT
Prints "ok N" (N checks) on success; any failure raises with a traceback. The test suite runs it
against FerricStore and against redis-server: both must pass.
"""
import sys
import time

import redis

port = int(sys.argv[1])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


r = redis.Redis(port=port, decode_responses=True)
b = redis.Redis(port=port)  # bytes replies
r.flushall()

# Strings and keys.
check(r.ping() is True, "ping")
check(r.set("s", "v", ex=100) is True, "set ex")
check(r.set("s", "w", nx=True) is None, "set nx on existing")
check(r.set("s", "w", xx=True, get=True, keepttl=True) == "v", "set xx get keepttl")
check(r.get("s") == "w", "get")
check(90 < r.ttl("s") <= 100, "ttl kept")
check(r.getex("s", persist=True) == "w" and r.ttl("s") == -1, "getex persist")
check(r.incr("n") == 1 and r.incrby("n", 41) == 42, "incr")
check(abs(r.incrbyfloat("f", 1.5) - 1.5) < 1e-9, "incrbyfloat")
check(r.mset({"a": "1", "b": "2"}) is True and r.mget("a", "b", "zz") == ["1", "2", None], "mset/mget")
check(r.append("s", "xyz") == 4 and r.strlen("s") == 4 and r.getrange("s", 1, 2) == "xy", "append")
check(b.set("bin", bytes(range(256))) and b.get("bin") == bytes(range(256)), "binary value")
check(r.exists("a", "b", "nope") == 2 and r.delete("a") == 1 and r.unlink("b") == 1, "exists/del")
check(r.rename("s", "s2") is True and r.type("s2") == "string", "rename/type")
check(r.expire("s2", 50) and 0 < r.pttl("s2") <= 50000 and r.persist("s2"), "expire/persist")
for i in range(300):
    r.set(f"scan:{i}", i)
found = set(r.scan_iter(match="scan:*", count=50))
check(len(found) == 300, "scan_iter finds every key")
check(len(list(r.scan_iter(match="scan:*", _type="string"))) >= 300, "scan TYPE")
check(sorted(r.keys("scan:1?"))[:2] == ["scan:10", "scan:11"], "keys")
check(r.object("encoding", "n") == "int", "object encoding")
check(isinstance(r.memory_usage("s2"), int), "memory usage")

# Hashes.
check(r.hset("h", mapping={"f1": "1", "f2": "x"}) == 2, "hset mapping")
check(r.hgetall("h") == {"f1": "1", "f2": "x"}, "hgetall")
check(r.hincrby("h", "f1", 5) == 6 and r.hincrbyfloat("h", "g", 0.5) == 0.5, "hincrby")
check(r.hdel("h", "f2") == 1 and r.hlen("h") == 2 and r.hexists("h", "f1"), "hdel/hlen")
check(dict(r.hscan_iter("h")) == {"f1": "6", "g": "0.5"}, "hscan_iter")

# Lists, with a blocking pop that times out and one that is served.
check(r.rpush("l", "a", "b", "c") == 3 and r.lpush("l", "z") == 4, "push")
check(r.lrange("l", 0, -1) == ["z", "a", "b", "c"], "lrange")
check(r.lpop("l", 2) == ["z", "a"] and r.rpop("l") == "c", "pop count")
check(r.lmove("l", "l2", "LEFT", "RIGHT") == "b", "lmove")
check(r.lpos("l2", "b") == 0, "lpos")
check(r.blpop(["empty"], timeout=0.1) is None, "blpop timeout")
check(r.blpop(["l2"], timeout=1) == ("l2", "b"), "blpop served")

# Sets.
check(r.sadd("s1", "a", "b", "c") == 3 and r.sadd("s2x", "b", "c", "d") == 3, "sadd")
check(r.sinter("s1", "s2x") == {"b", "c"}, "sinter")
check(r.sunionstore("su", ["s1", "s2x"]) == 4 and r.scard("su") == 4, "sunionstore")
check(r.smismember("s1", ["a", "d"]) == [1, 0], "smismember")
check(r.spop("su") in {"a", "b", "c", "d"} and r.srandmember("s1") in {"a", "b", "c"}, "spop")

# Sorted sets: scores parsed as floats.
check(r.zadd("z", {"a": 1, "b": 2.5, "c": 3}) == 3, "zadd")
check(r.zadd("z", {"a": 0}, gt=True) == 0 and r.zscore("z", "a") == 1.0, "zadd gt")
check(r.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.5), ("c", 3.0)], "zrange")
check(r.zrangebyscore("z", "(1", "+inf") == ["b", "c"], "zrangebyscore")
check(r.zincrby("z", 10, "a") == 11.0 and r.zrank("z", "a") == 2, "zincrby/zrank")
check(r.zpopmin("z") == [("b", 2.5)], "zpopmin")
check(r.bzpopmin(["nozset"], timeout=0.1) is None, "bzpopmin timeout")
check(r.sort("l9") == [] and r.rpush("nums", 3, 1, 2) and r.sort("nums") == ["1", "2", "3"], "sort")

# Pipelines and transactions.
p = r.pipeline(transaction=False)
p.set("p1", 1).incr("p1").get("p1")
check(p.execute() == [True, 2, "2"], "pipeline")
p = r.pipeline(transaction=True)
p.set("t1", "x").get("t1").lpush("t1", "y")
res = p.execute(raise_on_error=False)
check(res[0] is True and res[1] == "x" and isinstance(res[2], redis.ResponseError), "multi/exec")
r.set("w", 0)
with r.pipeline() as pipe:
    pipe.watch("w")
    r.incr("w")  # another client's change
    pipe.multi()
    pipe.incr("w")
    try:
        pipe.execute()
        check(False, "watch did not abort")
    except redis.WatchError:
        check(True, "watch aborts")


def incr_w(pipe):
    v = int(pipe.get("w"))
    pipe.multi()
    pipe.set("w", v + 1)


r.transaction(incr_w, "w")
check(r.get("w") == "2", "transaction helper")

# Errors.
try:
    r.lpush("s2", "x")
    check(False, "wrongtype")
except redis.ResponseError as e:
    check(str(e).startswith("WRONGTYPE"), "wrongtype error")
try:
    r.execute_command("NOSUCHCOMMAND")
    check(False, "unknown command")
except redis.ResponseError as e:
    check("unknown command" in str(e), "unknown command error")

# Pub/sub.
ps = r.pubsub()
ps.subscribe("chan")
ps.psubscribe("pat.*")
deadline = time.time() + 2
while time.time() < deadline and ps.get_message(timeout=0.1) is not None:
    pass  # subscribe confirmations
check(r.publish("chan", "hello") == 1 and r.publish("pat.x", "hi") == 1, "publish")
msgs = []
while time.time() < deadline and len(msgs) < 2:
    m = ps.get_message(timeout=0.2)
    if m is not None:
        msgs.append(m)
check([m["data"] for m in msgs] == ["hello", "hi"], "messages")
check(msgs[1]["pattern"] == "pat.*" and msgs[1]["channel"] == "pat.x", "pmessage")
ps.close()

# Server and connection commands, parsed by redis-py.
info = r.info()
check(info["redis_mode"] == "standalone" and "used_memory" in info, "info")
check(r.info("keyspace")["db0"]["keys"] > 0, "info keyspace")
check(r.config_get("maxmemory-policy")["maxmemory-policy"] in ("noeviction", "allkeys-lru"), "config get")
check(r.config_set("slowlog-log-slower-than", 0) is True, "config set")
check(isinstance(r.slowlog_get(1), list), "slowlog get")
check(r.config_set("slowlog-log-slower-than", 10000) is True, "config set back")
check(r.client_setname("py") is True and r.client_getname() == "py", "client name")
me = [c for c in r.client_list() if c.get("name") == "py"]
check(len(me) == 1 and me[0]["db"] == "0", "client list")
check(isinstance(r.client_id(), int), "client id")
check(isinstance(r.time()[0], int), "time")
r3 = redis.Redis(port=port, db=3, decode_responses=True)
r3.set("in3", "x")
check(r3.dbsize() == 1 and r.get("in3") is None, "select through db=")
check(r.acl_setuser("py", enabled=True, passwords=["+secret"], keys=["py:*"], commands=["+@all"]), "acl setuser")
check(r.acl_getuser("py")["enabled"] is True, "acl getuser")
u = redis.Redis(port=port, username="py", password="secret", decode_responses=True)
check(u.acl_whoami() == "py" and u.set("py:1", "x"), "auth as user")
try:
    u.set("other", "x")
    check(False, "acl key")
except redis.exceptions.NoPermissionError:
    check(True, "acl refuses a key")
check(r.dbsize() > 0 and r.flushdb() is True and r.dbsize() == 0, "flushdb")
print(f"ok {checks}")
