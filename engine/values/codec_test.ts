/** The parts codec: round trips, the effect payload's equivalence, truncation errors. */
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { decodeParts, encodeEffect, encodeParts, encodeValue } from "./codec.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

Deno.test("encodeParts round-trips empty, short, long and high-byte parts", () => {
  const parts = [
    new Uint8Array(),
    bytes("a"),
    bytes("x".repeat(300)),
    Uint8Array.from({ length: 70000 }, (_, i) => i & 0xff),
    bytes("\xff\x00\x80"),
  ];
  const encoded = encodeParts(parts);
  assertEquals(encoded.length, 4 + parts.reduce((n, p) => n + 4 + p.length, 0));
  assertEquals(decodeParts(encoded).map((p) => [...p]), parts.map((p) => [...p]));
  assertEquals([...encodeParts([])], [0, 0, 0, 0]);
});

Deno.test("encodeParts writes counts and lengths as 32-bit little-endian", () => {
  const encoded = encodeParts([new Uint8Array(0x10203)]);
  assertEquals([...encoded.subarray(0, 8)], [1, 0, 0, 0, 0x03, 0x02, 0x01, 0]);
});

Deno.test("encodeEffect is encodeParts of the type, the op and the arguments", () => {
  const args = [bytes("field"), bytes("v".repeat(40)), new Uint8Array()];
  assertEquals(
    [...encodeEffect("hash", "hset", args)],
    [...encodeParts([bytes("hash"), bytes("hset"), ...args])],
  );
  assertEquals([...encodeEffect("list", "rpop", [])], [
    ...encodeParts([bytes("list"), bytes("rpop")]),
  ]);
});

Deno.test("encodeValue is encodeParts of the type and the snapshot", () => {
  for (const snapshot of [new Uint8Array(), bytes("s".repeat(10)), bytes("z".repeat(1000))]) {
    assertEquals([...encodeValue("zset", snapshot)], [
      ...encodeParts([bytes("zset"), snapshot]),
    ]);
  }
});

Deno.test("decodeParts throws on a truncated buffer", () => {
  const encoded = encodeParts([bytes("abc"), bytes("def")]);
  for (const cut of [0, 2, 6, 9, encoded.length - 1]) {
    assertThrows(() => decodeParts(encoded.subarray(0, cut)), RangeError);
  }
});
