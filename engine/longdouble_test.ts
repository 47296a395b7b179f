/** INCRBYFLOAT's arithmetic on values too long to be numbers. */
import { assertEquals } from "../tests/_assert.ts";
import { incrByFloat, longDoubleText } from "./longdouble.ts";

const message = (r: string | Error) => typeof r === "string" ? r : r.message;

Deno.test("longDoubleText: a value longer than any number is not one (no string of it is made)", () => {
  // 512 MB (what SETRANGE can make): more characters than V8 allows in a string. Never written
  // to, so the zeroed pages are not actually taken from the system.
  const huge = new Uint8Array(2 ** 29);
  assertEquals(longDoubleText(huge), "");
  assertEquals(message(incrByFloat(longDoubleText(huge), "1")), "ERR value is not a valid float");
  // Redis's string2ld takes fewer than 5120 characters (MAX_LONG_DOUBLE_CHARS).
  const digits = (n: number) => new TextEncoder().encode("1".padStart(n, "0"));
  assertEquals(incrByFloat(longDoubleText(digits(5119)), "1"), "2");
  assertEquals(
    message(incrByFloat(longDoubleText(digits(5120)), "1")),
    "ERR value is not a valid float",
  );
});
