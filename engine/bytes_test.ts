/** appendBytes (the growth of strings made by APPEND, in place only where no other value sees it) and Slabs. */
import { assert, assertEquals } from "../tests/_assert.ts";
import { appendBytes, Slabs } from "./bytes.ts";

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

Deno.test("Slabs: small parts share 16 KiB slabs, medium ones four of their size class, large ones none", () => {
  const slabs = new Slabs();
  const small = [slabs.take(100), slabs.take(200)];
  assert(small[0].buffer === small[1].buffer && small[0].buffer.byteLength === 16 * 1024);
  // 1000 bytes: the 1024 class, slabs of 4096 bytes: four such parts fit, the fifth starts anew.
  const medium = Array.from({ length: 5 }, () => slabs.take(1000));
  for (let i = 1; i < 4; i++) assert(medium[i].buffer === medium[0].buffer);
  assert(medium[4].buffer !== medium[0].buffer && medium[0].buffer.byteLength === 4096);
  // Another class has its own slab.
  assert(slabs.take(3000).buffer.byteLength === 4 * 4096);
  const large = slabs.take(5000);
  assertEquals([large.byteOffset, large.buffer.byteLength], [0, 5000]);
  // Parts never overlap, and start zeroed.
  for (let i = 0; i < 4; i++) medium[i].fill(i + 1);
  for (let i = 0; i < 4; i++) assert(medium[i].every((b) => b === i + 1));
  assert(medium[4].every((b) => b === 0));
});
