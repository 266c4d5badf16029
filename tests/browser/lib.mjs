// What every browser scenario needs: Debian's Chromium started by
// playwright-core (no browser download) with the flags this machine needs,
// a guard that fails the run on any request off loopback and on any
// console error (a CSP violation shows as one), and axe-core checks.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Starts Chromium; `problems` collects what must fail the test. */
export async function start(userDataDir) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Loopback still goes direct; anything else goes nowhere.
      "--proxy-server=127.0.0.1:9",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("console", (message) => {
    // A page answered 401 or 429 is logged as a failed load: the statuses
    // are checked by the scenarios, and sub-resources just below.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    const type = response.request().resourceType();
    const expected = response.request().headers()["accept"] === "application/json";
    if (type !== "document" && response.status() >= 400 && !expected) {
      problems.push(`${type} ${response.url()} answered ${response.status()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
    if (!loopback && !["data:", "about:", "blob:"].includes(url.protocol)) {
      problems.push(`a request off loopback: ${request.url()}`);
    }
  });
  return { context, page, problems };
}

/** axe-core's violations on the page, as `{id, impact, nodes}`. */
export async function axe(page) {
  // Injected through the DevTools protocol, not a <script>: the page's CSP
  // (no inline script) stays as it is for everything else.
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
}

/** Fails the scenario with a message (the test prints it). */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Waits until `condition()` (run in the page) is true, or fails. */
export async function until(page, condition, arg, message) {
  try {
    await page.waitForFunction(condition, arg, { timeout: 10_000 });
  } catch {
    throw new Error(message);
  }
}

/** Runs `steps(helpers)` in a fresh Chromium and prints its JSON report;
 * exits 1 with the reason (and where it happened) when a step fails. */
export async function scenario(userDataDir, steps) {
  const { context, page, problems } = await start(userDataDir);
  const report = { axe: {}, steps: [] };
  let at = "starting";
  const helpers = {
    page,
    report,
    /** axe-core on the page as it is, in light and dark. */
    async audit(name) {
      for (const colorScheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme });
        report.axe[`${name} ${colorScheme}`] = await axe(page);
      }
      await page.emulateMedia({ colorScheme: "light" });
    },
    /** Does what leads to another page (a click by default), and waits
     * until that page has loaded. */
    async submit(selectorOrAction) {
      const action =
        typeof selectorOrAction === "string" ? () => page.click(selectorOrAction) : selectorOrAction;
      at = `${typeof selectorOrAction === "string" ? `clicking ${selectorOrAction}` : "navigating"} on ${page.url()}`;
      await Promise.all([
        page.waitForEvent("framenavigated", { predicate: (frame) => frame === page.mainFrame() }),
        action(),
      ]);
      await page.waitForLoadState("load");
    },
    /** No sideways scrolling on a 360 px screen, on each of `paths`. */
    async narrow(base, paths) {
      await page.setViewportSize({ width: 360, height: 700 });
      for (const path of paths) {
        await page.goto(`${base}${path}`, { waitUntil: "load" });
        const wider = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        check(wider <= 0, `on a 360 px screen ${path} is ${wider} px too wide`);
      }
      await page.setViewportSize({ width: 1100, height: 800 });
    },
    path: () => new URL(page.url()).pathname,
    text: (selector) => page.$eval(selector, (e) => e.textContent.trim()),
  };
  try {
    await steps(helpers);
    check(problems.length === 0, problems.join("\n"));
    console.log(JSON.stringify(report));
  } catch (error) {
    console.error(`${error.message} (${at})`);
    if (problems.length) console.error(problems.join("\n"));
    process.exitCode = 1;
  } finally {
    await context.close();
  }
}

/** Signs in through the form. */
export async function signIn({ page, submit, path }, base, password) {
  await page.goto(`${base}/admin/login`);
  await page.fill("#password", password);
  await submit("button[type=submit]");
  check(path() === "/admin", `signing in led to ${page.url()}`);
}
