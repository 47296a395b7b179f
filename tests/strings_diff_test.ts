import { assertEquals } from "./_assert.ts";
import { cmd, Differential } from "./_harness.ts";

Deno.test("strings: replies match redis-server byte for byte", async () => {
  const d = await Differential.start();
  try {
    const script = [
      "SET k v",
      "GET k",
      "SET k v2 GET",
      "SET k v3 NX",
      "SET k v3 XX GET",
      "SET k v EX 0",
      "SET k v EX abc",
      "SET k v EX 10 PX 100",
      "SET k v KEEPTTL EX 10",
      "SET k v NX XX",
      "SETEX k -1 v",
      "INCRBYFLOAT f 10.50",
      "INCRBYFLOAT f 0.1",
      "SET f 5.0e3",
      "INCRBYFLOAT f 2.0e2",
      "INCRBYFLOAT f abc",
      "SET n 9223372036854775806",
      "INCR n",
      "INCR n",
      "DECRBY n -9223372036854775808",
      "GETRANGE k 0 -1",
      "GETRANGE k -100 -50",
      "SETRANGE s 5 hello",
      "GET s",
      "LCS k s",
      "MSET a 1 b",
      "MSET a 1 b 2",
      "MGET a b c",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});
