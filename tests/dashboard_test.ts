/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, installed with
 * apt-get when missing) driven by playwright-core. Every page loads without console errors,
 * shows live values that follow the server (through its own meta refresh), and is readable with
 * JavaScript off. A screenshot of each page is kept in tests/artifacts/.
 */
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { assert, assertEquals } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";
import type { Server } from "../server/server.ts";
import { startHttp } from "../http/app.ts";
import { PAGES } from "../http/dashboard/layout.ts";
import { tempDir } from "./_temp_dir.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian's chromium when it is missing; the reason it cannot be had, or null. */
async function ensureChromium(): Promise<string | null> {
  if (exists(CHROMIUM)) return null;
  const run = async (args: string[]) => {
    try {
      const out = await new Deno.Command("apt-get", {
        args,
        env: { DEBIAN_FRONTEND: "noninteractive" },
        stdout: "null",
        stderr: "piped",
      }).output();
      return out.code === 0 ? null : new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    } catch (e) {
      return (e as Error).message;
    }
  };
  const failed = await run(["install", "-y", "--no-install-recommends", "chromium"]) &&
    (await run(["update"]), await run(["install", "-y", "--no-install-recommends", "chromium"]));
  if (exists(CHROMIUM)) return null;
  return `chromium is not installed and apt-get could not install it (${failed ?? "unknown"})`;
}

const unavailable = await ensureChromium();
if (unavailable) console.warn(`dashboard_test: skipped: ${unavailable}`);

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with a fresh profile (playwright passes it as --user-data-dir). */
async function launch(
  javaScriptEnabled: boolean,
): Promise<{ ctx: BrowserContext; done(): Promise<void> }> {
  const profile = await tempDir("ferric-chromium-");
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
    javaScriptEnabled,
    viewport: { width: 1280, height: 860 },
    timeout: 30000,
  });
  return {
    ctx,
    async done() {
      await ctx.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Problems a page reports: console errors, page errors, failed requests, HTTP errors. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") {
      problems.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on(
    "requestfailed",
    (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`),
  );
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return problems;
}

/** The value of the overview card with this label, read again until `ok` accepts it. */
async function cardValue(
  page: Page,
  label: string,
  ok: (v: string) => boolean,
  ms = 8000,
): Promise<string> {
  const until = Date.now() + ms;
  let last = "";
  while (Date.now() < until) {
    try {
      last = (await page.locator(".card", { has: page.locator(".label", { hasText: label }) })
        .locator(".value").first().textContent({ timeout: 1000 })) ?? "";
      if (ok(last)) return last;
    } catch { /* the page is being reloaded by its meta refresh */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  for (let attempt = 0;; attempt++) {
    try {
      await page.waitForLoadState("load");
      await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true, timeout: 5000 });
      return;
    } catch (e) {
      if (attempt === 2) throw e; // a refresh happened mid-shot: take it again
    }
  }
}

/** What a dashboard test gets: a FerricStore, the dashboard's base URL, a client and a page. */
interface DashboardSetup {
  server: Server;
  base: string;
  c: RawClient;
  page: Page;
}

/**
 * A test with a FerricStore, its HTTP server, a client and a Chromium page (JavaScript on or
 * off), all closed afterwards; skipped when Chromium is unavailable.
 */
function dashboardTest(
  name: string,
  javaScriptEnabled: boolean,
  body: (t: DashboardSetup) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: unavailable !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await startFerric();
      const http = await startHttp(server, { port: 0 });
      const c = await RawClient.connect(server.port);
      const browser = await launch(javaScriptEnabled);
      try {
        const page = browser.ctx.pages()[0] ?? await browser.ctx.newPage();
        await body({ server, base: `http://127.0.0.1:${http.port}`, c, page });
      } finally {
        c.close();
        await browser.done();
        await http.close();
        await server.close();
      }
    },
  });
}

dashboardTest(
  "dashboard: every page loads in Chromium without errors and follows the server live",
  true,
  async ({ server, base, c, page }) => {
    let load = true;
    // Traffic while the pages are open, so the charts have something to draw.
    const traffic = (async () => {
      for (let i = 0; load && i < 100000; i++) {
        await c.call("SET", `load:${i % 50}`, "x".repeat(i % 200));
        await c.call("GET", `load:${(i * 7) % 50}`);
        if (i % 40 === 0) await new Promise((r) => setTimeout(r, 15));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 2500)); // a few samples for the charts
      const problems = watch(page);
      for (const p of PAGES) {
        const path = p.slug === "" ? "/dashboard" : `/dashboard/${p.slug}`;
        const res = await page.goto(base + path, { waitUntil: "load" });
        assertEquals(res?.status(), 200, path);
        assertEquals(await page.title(), `${p.title} · FerricStore`);
        assertEquals(await page.locator("nav.sidebar a").count(), PAGES.length);
        assertEquals(await page.locator("nav.sidebar a.active").textContent(), p.title);
        await screenshot(page, `dashboard-${p.slug || "overview"}`);
      }
      assertEquals(problems, []);

      // The overview's charts drew lines from the samples.
      await page.goto(`${base}/dashboard`);
      assert(await page.locator(".chart svg polyline").count() >= 2, "charts have lines");

      // Live values: the overview refreshes itself every 2 s and shows new keys.
      load = false;
      await traffic;
      const keys = server.keyspace.totalKeys();
      assertEquals(
        await cardValue(page, "Keys", (v) => v === keys.toLocaleString("en-US")),
        keys.toLocaleString("en-US"),
      );
      for (let i = 0; i < 1234; i++) await c.call("SET", `live:${i}`, "v");
      const after = (keys + 1234).toLocaleString("en-US");
      assertEquals(await cardValue(page, "Keys", (v) => v === after), after);
      // The namespaces page counts them per prefix.
      await page.goto(`${base}/dashboard/prefixes`);
      const row = page.locator("tr", { has: page.locator("code", { hasText: /^live$/ }) });
      assertEquals((await row.locator("td").nth(1).textContent())?.trim(), "1,234");
      assertEquals(problems, []);
    } finally {
      load = false;
      await traffic;
    }
  },
);

dashboardTest(
  "dashboard: pages are readable with JavaScript off",
  false,
  async ({ base, c, page }) => {
    await c.call("CLIENT", "SETNAME", "reader");
    await c.call("SET", "orders:1", "v");
    const problems = watch(page);
    const expectations: Record<string, string> = {
      "": "Commands per second",
      slowlog: "slowlog-log-slower-than",
      merge: "Dead ratio",
      storage: "Data directory",
      raft: "Applied index",
      config: "maxmemory-policy",
      clients: "reader",
      prefixes: "orders",
    };
    for (const p of PAGES) {
      await page.goto(`${base}/dashboard${p.slug ? "/" + p.slug : ""}`);
      const text = await page.locator("main").innerText();
      // (innerText applies the CSS text-transform of titles)
      assert(
        text.toLowerCase().includes(expectations[p.slug].toLowerCase()),
        `${p.slug || "overview"}: ${text.slice(0, 200)}`,
      );
      // Nothing is hidden until a script runs: the main content has a real size.
      const box = await page.locator("main").boundingBox();
      assert(box !== null && box.height > 200, `${p.slug}: main is ${box?.height}px high`);
    }
    assertEquals(problems, []);
  },
);
