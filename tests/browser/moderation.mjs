// Moderation in the browser: the held comment is in the queue with why it
// was held; approving it (it appears under the post) and answering it as
// the blog. The page is checked with axe-core, in light and dark.
//
//   node moderation.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// Expects one held comment ("Nice post!") under a published post.
// Prints {"axe": {...}, "steps": [...]}; exits 1 with the reason on failure.
import { check, scenario, signIn } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
await scenario(userDataDir, async ({ page, report, audit, submit, path, text }) => {
  await signIn({ page, submit, path }, base, password);
  await submit('a[href="/admin/comments"]');
  const item = await text(".admin-comment");
  check(item.includes("Nice post!") && item.includes("Held because"), `the queue shows ${item}`);
  await audit("comments waiting");
  report.steps.push("the held comment, with why");

  await submit('.admin-comment form[action$="/approve"] button');
  check((await text('[role="status"]')).startsWith("Approved"), "it says approved");
  check((await text(".empty-state")) === "Nothing waits for you.", "the queue is empty");
  report.steps.push("approved: the queue is empty");
  await page.goto(`${base}/posts/open-thread`);
  const shown = await page.$$eval(".comment", (all) => all.map((e) => e.textContent).join(" "));
  check(shown.includes("Nice post!") && shown.includes("Alice"), `the post's comments: ${shown}`);
  report.steps.push("the approved comment is on the post's page");

  await page.goto(`${base}/admin/comments?state=approved`);
  await page.click(".admin-reply summary");
  await page.fill(".admin-reply textarea", "Thank you, *really*.");
  await audit("answering a comment");
  await submit(".admin-reply button");
  check((await text('[role="status"]')).startsWith("Your answer is published"), "it says answered");
  const answer = await page.$$eval(".admin-comment-text", (all) => all.map((e) => e.innerHTML).join(" "));
  check(answer.includes("<em>really</em>"), `the answer is listed: ${answer}`);
  report.steps.push("answered as the blog");
});
