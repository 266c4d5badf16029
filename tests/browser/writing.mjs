// Writing in the browser: a new post through the editor, previewed,
// published and seen on the blog; then edited and deleted. Every admin page
// on the way is checked with axe-core, in light and dark.
//
//   node writing.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// Prints {"axe": {...}, "steps": [...]}; exits 1 with the reason on failure.
import { check, scenario, signIn } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
await scenario(userDataDir, async ({ page, report, audit, submit, path, text }) => {
  await signIn({ page, submit, path }, base, password);

  await Promise.all([page.waitForNavigation(), page.click('a[href="/admin/posts"]')]);
  check(path() === "/admin/posts", `Posts led to ${page.url()}`);
  await audit("posts, none yet");
  await submit('a[href="/admin/posts/new"]');
  check(path() === "/admin/posts/new", `New post led to ${page.url()}`);
  await audit("new post");
  report.steps.push("the editor, from the dashboard");

  await page.type("#title", "A walk in the woods");
  await page.type("#body", "Moss, *ferns* and a [map](https://example.org/map).\n\n- one\n- two");
  await page.type("#tags", "Walks, Nature");
  await submit('button[value="preview"]');
  const preview = await page.$eval(".admin-preview .post-content", (e) => e.innerHTML);
  check(preview.includes("<em>ferns</em>") && preview.includes("<li>two</li>"), `the preview is ${preview}`);
  check((await page.$eval("#title", (e) => e.value)) === "A walk in the woods", "the title was kept");
  check((await text("#slug-help")).includes("/posts/a-walk-in-the-woods"), "the address it will get");
  await audit("editor with a preview");
  report.steps.push("preview: rendered, nothing lost");

  await submit('button[value="publish"]');
  check(path() === "/admin/posts/a-walk-in-the-woods/edit", `publishing led to ${page.url()}`);
  check((await text('[role="status"]')).startsWith("Published."), "the editor says it is published");
  await audit("editor after publishing");
  await submit('[role="status"] a');
  check(path() === "/posts/a-walk-in-the-woods", `View it led to ${page.url()}`);
  check((await text("h1")) === "A walk in the woods", "the post is on the blog");
  report.steps.push("published, and on the blog");

  await page.goto(`${base}/admin/posts/a-walk-in-the-woods/edit`);
  await page.$eval("#title", (e) => { e.value = "   "; });
  await submit('button[value="save"]');
  check((await text("#title-error")) === "The title must not be empty", "the message at the title");
  const invalid = await page.$eval("#title", (e) => e.getAttribute("aria-invalid"));
  check(invalid === "true", "the title is marked invalid");
  await audit("editor with an error");
  report.steps.push("an empty title: refused, with the message at the field");

  await page.goto(`${base}/admin/posts/a-walk-in-the-woods/delete`);
  await audit("delete confirmation");
  await submit("button.button-danger");
  check(path() === "/admin/posts", `deleting led to ${page.url()}`);
  check((await text('[role="status"]')).includes("A walk in the woods"), "the list says what was deleted");
  const gone = await page.goto(`${base}/posts/a-walk-in-the-woods`);
  check(gone.status() === 410, `the deleted post answers ${gone.status()}`);
  report.steps.push("deleted after confirming: 410 on the blog");
});
