// What every browser scenario needs: Debian's Chromium started by
// puppeteer-core with the flags this machine needs, a guard that fails the
// run on any request off loopback and on any console error (a CSP violation
// shows as one), and axe-core checks.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Starts Chromium; `problems` collects what must fail the test. */
export async function start(userDataDir) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    userDataDir,
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
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 800 });
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
    if (type !== "document" && response.status() >= 400) {
      problems.push(`${type} ${response.url()} answered ${response.status()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
    if (!loopback && url.protocol !== "data:" && url.protocol !== "about:") {
      problems.push(`a request off loopback: ${request.url()}`);
    }
  });
  return { browser, page, problems };
}

/** axe-core's violations on the page, as `{id, impact, nodes}`. */
export async function axe(page) {
  // Injected through the DevTools protocol, not a <script>: the page's CSP
  // (no inline script) stays as it is for everything else.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
  return result;
}

/** Fails the scenario with a message (the test prints it). */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs `steps(helpers)` in a fresh Chromium and prints its JSON report;
 * exits 1 with the reason (and where it happened) when a step fails. */
export async function scenario(userDataDir, steps) {
  const { browser, page, problems } = await start(userDataDir);
  const report = { axe: {}, steps: [] };
  let at = "starting";
  const helpers = {
    page,
    report,
    /** axe-core on the page as it is, in light and dark. */
    async audit(name) {
      for (const scheme of ["light", "dark"]) {
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
        report.axe[`${name} ${scheme}`] = await axe(page);
      }
    },
    /** Clicks what leads to another page, and waits for it. */
    async submit(selector) {
      at = `clicking ${selector} on ${page.url()}`;
      await Promise.all([page.waitForNavigation(), page.click(selector)]);
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
    await browser.close();
  }
}

/** Signs in through the form. */
export async function signIn({ page, submit, path }, base, password) {
  await page.goto(`${base}/admin/login`);
  await page.type("#password", password);
  await submit("button[type=submit]");
  check(path() === "/admin", `signing in led to ${page.url()}`);
}
