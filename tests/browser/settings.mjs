// The profile changed in the browser: the blog's title (the profile's
// name), the author's name, the bio, a field and the avatar on
// /admin/settings, saved; the page says followers get the new profile (the
// test then checks the Update arrives at the Fedify peer), and the blog
// shows the new names. Then signed out.
//
//   FEDBLOG_PICTURES=DIR node settings.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// Prints {"axe": {...}, "steps": [...]}; exits 1 with the reason on failure.
import { join } from "node:path";
import { check, scenario, signIn } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
const pictures = process.env.FEDBLOG_PICTURES;
await scenario(userDataDir, async ({ page, report, audit, submit, path, text }) => {
  await signIn({ page, submit, path }, base, password);
  await submit('a[href="/admin/settings"]');
  check(path() === "/admin/settings", `Settings led to ${page.url()}`);
  await audit("settings");

  await page.fill("#title", "Ada's notebook");
  await page.fill("#author_name", "Ada Lovelace");
  await page.fill("#bio", "Notes on *engines* and walks.");
  await page.fill('input[name="field_name_0"]', "Website");
  await page.fill('input[name="field_value_0"]', "https://ada.example");
  await page.setInputFiles("#avatar", join(pictures, "fern.png"));
  await page.fill("#time_zone", "Mars/Olympus");
  await submit('button[value="save"]');
  check((await text("#time_zone-error")).includes("unknown time zone"), "a wrong time zone is said so");
  check((await page.$eval("#author_name", (e) => e.value)) === "Ada Lovelace", "what was typed stays");
  await audit("settings with an error");
  report.steps.push("a wrong time zone: refused, with the message at the field");

  await page.fill("#time_zone", "Europe/Stockholm");
  await page.setInputFiles("#avatar", join(pictures, "fern.png"));
  await submit('button[value="save"]');
  check(
    (await text('[role="status"]')) === "Saved. Your followers' servers are sent the new profile.",
    "it says the profile goes out",
  );
  const avatar = await page.$eval(".admin-avatar", (e) => e.complete && e.naturalWidth);
  check(avatar > 0, "the new avatar is shown");
  report.steps.push("saved: the new profile goes to the followers");

  await page.goto(`${base}/`);
  check((await text(".site-title")) === "Ada's notebook", "the blog shows its new title");
  check((await text(".site-footer-copy")).includes("Ada Lovelace"), "the blog shows the author's new name");
  report.steps.push("the blog shows the new names");

  await page.goto(`${base}/admin`);
  await submit('form[action="/admin/logout"] button');
  check(path() === "/admin/login", `signing out led to ${page.url()}`);
  report.steps.push("signed out");
});
