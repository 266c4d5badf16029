// The admin UI as its owner uses it, in Chromium: signed out, /admin leads
// to the sign-in page; a wrong password stays there with a message; the
// right one opens the dashboard; the keyboard reaches "Sign out"; signing
// out leads back. Every page is checked with axe-core, in light and dark.
//
//   node admin.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// Prints one JSON object: {"axe": {"<page> <scheme>": [violations]}, "steps": [...]};
// exits 1 with the reason on stderr when a step fails.
import { check, scenario } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
await scenario(userDataDir, async ({ page, report, audit, submit, narrow, path }) => {
  await page.goto(`${base}/admin`, { waitUntil: "load" });
  check(path() === "/admin/login", `signed out, /admin led to ${page.url()}`);
  report.steps.push("signed out: /admin leads to the sign-in page");
  await audit("sign-in");

  await page.fill("#password", "not the password");
  await submit("button[type=submit]");
  check(path() === "/admin/login", `a wrong password led to ${page.url()}`);
  const error = await page.$eval("#login-error", (e) => e.textContent.trim());
  check(error === "That password is not right.", `the message was ${JSON.stringify(error)}`);
  const focused = await page.evaluate(() => document.activeElement?.id);
  check(focused === "password", `after a wrong password the focus is on ${focused}`);
  report.steps.push("a wrong password: the sign-in page again, with a message");
  await audit("sign-in with an error");

  await page.fill("#password", password);
  await submit(() => page.keyboard.press("Enter"));
  check(path() === "/admin", `the right password led to ${page.url()}`);
  const heading = await page.$eval("h1", (e) => e.textContent.trim());
  check(heading === "Dashboard", `the dashboard's heading is ${JSON.stringify(heading)}`);
  report.steps.push("the right password: the dashboard");
  await audit("dashboard");
  for (const other of ["followers", "comments", "posts", "deliveries", "media", "blocks", "settings"]) {
    await page.goto(`${base}/admin/${other}`, { waitUntil: "load" });
    check(path() === `/admin/${other}`, `/admin/${other} led to ${page.url()}`);
    await audit(other);
  }
  // A narrow screen, signed in: nothing wider than the viewport.
  await narrow(base, [
    "/admin",
    "/admin/posts",
    "/admin/posts/new",
    "/admin/media",
    "/admin/comments",
    "/admin/followers",
    "/admin/blocks",
    "/admin/deliveries",
    "/admin/settings",
  ]);
  report.steps.push("signed in, a 360 px screen: no sideways scrolling");
  await page.goto(`${base}/admin`, { waitUntil: "load" });

  // The keyboard alone reaches "Sign out", with a visible focus.
  let reached = null;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e.textContent.trim() !== "Sign out") return null;
      const style = getComputedStyle(e);
      return { outline: style.outlineStyle, width: style.outlineWidth };
    });
  }
  check(reached, "Tab never reached the Sign out button");
  check(reached.outline !== "none", `the focused Sign out button has no outline: ${JSON.stringify(reached)}`);
  await submit(() => page.keyboard.press("Enter"));
  check(path() === "/admin/login", `signing out led to ${page.url()}`);
  report.steps.push("Sign out, from the keyboard: the sign-in page");

  await page.goto(`${base}/admin`, { waitUntil: "load" });
  check(path() === "/admin/login", `after signing out, /admin led to ${page.url()}`);
  report.steps.push("signed out again: /admin leads to the sign-in page");

  // A narrow screen: nothing wider than the viewport.
  await page.setViewportSize({ width: 360, height: 700 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `on a 360 px screen the page is ${overflow} px too wide`);
  report.steps.push("a 360 px screen: no sideways scrolling");
});
