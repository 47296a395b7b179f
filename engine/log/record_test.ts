import { crc32 as zlibCrc32 } from "node:zlib";
import { assertEquals } from "../../tests/_assert.ts";
import { crc32 } from "./record.ts";

Deno.test("crc32: the IEEE check value, and zlib's result for every length and alignment", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const bytes = new Uint8Array(600);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  for (let from = 0; from < 9; from++) {
    for (let to = from; to <= 300; to++) {
      assertEquals(crc32(bytes, from, to), zlibCrc32(bytes.subarray(from, to)) >>> 0);
    }
  }
});
