import { assertEquals } from "./_assert.ts";
import { configurationDoc, defaultCatalog } from "../commands/catalog.ts";

const read = (p: string) => Deno.readTextFile(new URL(`../docs/${p}`, import.meta.url));

Deno.test("docs/commands.md lists every registered command (run `deno task docs`)", async () => {
  assertEquals(await read("commands.md"), defaultCatalog());
});

Deno.test("docs/configuration.md lists every parameter (run `deno task docs`)", async () => {
  const current = await read("configuration.md");
  assertEquals(current, configurationDoc(current));
});
