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
