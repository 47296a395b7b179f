/** appendBytes: the growth of strings made by APPEND (in place only where no other value sees it). */
import { assertEquals } from "../tests/_assert.ts";
import { appendBytes } from "./bytes.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("appendBytes: grows in place and leaves earlier views as they were", () => {
  const a = appendBytes(bytes("ab"), bytes("c"));
  const b = appendBytes(a, bytes("d"));
  assertEquals(b.buffer, a.buffer); // room was kept: no copy
  assertEquals([text(a), text(b)], ["abc", "abcd"]);
});

Deno.test("appendBytes: a value that is not the buffer's longest is copied, not written over", () => {
  const a = appendBytes(bytes("ab"), bytes("c"));
  const b = appendBytes(a, bytes("d"));
  // `a` ends before `b` does: writing after `a` in place would overwrite b's "d".
  const c = appendBytes(a, bytes("e"));
  assertEquals([text(a), text(b), text(c)], ["abc", "abcd", "abce"]);
  assertEquals(c.buffer === b.buffer, false);
});

Deno.test("appendBytes: n appends copy O(n) bytes (the room doubles)", () => {
  let v: Uint8Array = new Uint8Array(0);
  let buffers = 0;
  for (let i = 0; i < 10000; i++) {
    const next = appendBytes(v, bytes("x"));
    if (next.buffer !== v.buffer) buffers++;
    v = next;
  }
  assertEquals(v.length, 10000);
  assertEquals(buffers <= 12, true, `${buffers} buffers`);
});
