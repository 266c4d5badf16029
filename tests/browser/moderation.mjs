// Moderation in the browser: the held comment is in the queue with why it
// was held; approving it and answering it as the blog, from the keyboard
// and the mouse. The page is checked with axe-core, in light and dark.
//
//   node moderation.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// Expects one held comment ("Nice post!") under a published post.
// Prints {"axe": {...}, "steps": [...]}; exits 1 with the reason on failure.
import { start, axe, check } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
const { browser, page, problems } = await start(userDataDir);
const report = { axe: {}, steps: [] };

async function audit(name) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
    report.axe[`${name} ${scheme}`] = await axe(page);
  }
}
const text = (selector) => page.$eval(selector, (e) => e.textContent.trim());
let at = "starting";
async function submit(selector) {
  at = `clicking ${selector} on ${page.url()}`;
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

try {
  await page.goto(`${base}/admin/login`);
  await page.type("#password", password);
  await submit("button[type=submit]");
  await submit('a[href="/admin/comments"]');
  const item = await text(".admin-comment");
  check(item.includes("Nice post!") && item.includes("Held because"), `the queue shows ${item}`);
  await audit("comments waiting");
  report.steps.push("the held comment, with why");

  await submit('.admin-comment form[action$="/approve"] button');
  check((await text('[role="status"]')).startsWith("Approved"), "it says approved");
  check((await text(".empty-state")) === "Nothing waits for you.", "the queue is empty");
  report.steps.push("approved: the queue is empty");

  await page.goto(`${base}/admin/comments?state=approved`);
  await page.click(".admin-reply summary");
  await page.type(".admin-reply textarea", "Thank you, *really*.");
  await audit("answering a comment");
  await submit(".admin-reply button");
  check((await text('[role="status"]')).startsWith("Your answer is published"), "it says answered");
  const answer = await page.$$eval(".admin-comment-text", (all) => all.map((e) => e.innerHTML).join(" "));
  check(answer.includes("<em>really</em>"), `the answer is listed: ${answer}`);
  report.steps.push("answered as the blog");

  check(problems.length === 0, problems.join("\n"));
  console.log(JSON.stringify(report));
} catch (error) {
  console.error(`${error.message} (${at})`);
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
