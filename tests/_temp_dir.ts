/**
 * Temporary directories for tests, removed when the test module ends: after a failed assertion
 * or a killed child server too, so a test run leaves nothing behind in the temp dir.
 */

const made: string[] = [];

globalThis.addEventListener("unload", () => {
  for (const dir of made) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* removed by its test already */ }
  }
});

/** A new directory under the system temp dir, removed when the test module ends. */
export async function tempDir(prefix = "ferric-"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  return dir;
}
