// Writing in the browser: a new post through the editor, with a preview
// that follows the typing, a picture added from the file field and one
// dropped on the text, published and seen on the blog with its pictures;
// then edited and deleted. Every admin page on the way is checked with
// axe-core, in light and dark.
//
//   FEDBLOG_PICTURES=DIR node writing.mjs BASE_URL PASSWORD USER_DATA_DIR
//
// DIR holds fern.png and moss.png. Prints {"axe": {...}, "steps": [...]};
// exits 1 with the reason on failure.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { check, scenario, signIn, until } from "./lib.mjs";

const [base, password, userDataDir] = process.argv.slice(2);
const pictures = process.env.FEDBLOG_PICTURES;
await scenario(userDataDir, async ({ page, report, audit, submit, path, text }) => {
  await signIn({ page, submit, path }, base, password);

  await submit('a[href="/admin/posts"]');
  check(path() === "/admin/posts", `Posts led to ${page.url()}`);
  await audit("posts, none yet");
  await submit('a[href="/admin/posts/new"]');
  check(path() === "/admin/posts/new", `New post led to ${page.url()}`);
  await audit("new post");
  report.steps.push("the editor, from the dashboard");

  await page.fill("#title", "A walk in the woods");
  await page.locator("#body").pressSequentially("Moss, *ferns* and a [map](https://example.org/map).\n\n- one\n- two");
  await page.fill("#tags", "Walks, Nature");
  await until(
    page,
    () => document.querySelector(".admin-preview .post-content")?.innerHTML.includes("<li>two</li>"),
    undefined,
    "the preview did not follow the typing",
  );
  const live = await page.$eval(".admin-preview .post-content", (e) => e.innerHTML);
  check(live.includes("<em>ferns</em>"), `the live preview is ${live}`);
  report.steps.push("the preview follows the typing");

  // A picture from the file field (this works without JavaScript too).
  await page.fill("#image_alt", "A fern in the moss");
  await page.setInputFiles("#image", join(pictures, "fern.png"));
  await submit('button[value="upload"]');
  const withPicture = await page.$eval("#body", (e) => e.value);
  check(/!\[A fern in the moss\]\(\/media\/[0-9a-f]{64}\.png\)/.test(withPicture), `the text is ${withPicture}`);
  check((await text('[role="status"]')).startsWith("The picture is at the end of the text"), "it says where the picture went");
  const shown = await page.$eval(".admin-preview img", (e) => e.complete && e.naturalWidth);
  check(shown > 0, "the preview shows the picture");
  await audit("editor with a picture");
  report.steps.push("a picture added from the file field");

  // A picture dropped on the text: its description asked for, its
  // Markdown put where it was dropped.
  page.once("dialog", (dialog) => dialog.accept("Moss on a stone"));
  const moss = readFileSync(join(pictures, "moss.png")).toString("base64");
  await page.$eval("#body", (e) => e.setSelectionRange(e.value.length, e.value.length));
  const drop = await page.evaluateHandle((bytes) => {
    const data = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], "moss.png", { type: "image/png" }));
    return transfer;
  }, moss);
  await page.dispatchEvent("#body", "drop", { dataTransfer: drop });
  await until(
    page,
    () => /!\[Moss on a stone\]\(\/media\/[0-9a-f]{64}\.png\)/.test(document.querySelector("#body").value),
    undefined,
    "the dropped picture's Markdown never came",
  );
  check((await text("#editor-status")).includes("moss.png is in the text"), "it says the picture is in");
  report.steps.push("a picture dropped on the text");

  await submit('button[value="preview"]');
  const preview = await page.$eval(".admin-preview .post-content", (e) => e.innerHTML);
  check(preview.includes("<em>ferns</em>") && preview.includes('alt="Moss on a stone"'), `the preview is ${preview}`);
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
  const images = await page.$$eval(".post-body img", (all) =>
    all.map((e) => ({ alt: e.alt, loaded: e.complete && e.naturalWidth > 0 })),
  );
  check(
    images.length === 2 && images.every((i) => i.loaded) && images[0].alt === "A fern in the moss",
    `the post's pictures: ${JSON.stringify(images)}`,
  );
  const card = await page.$eval('meta[property="og:image"]', (e) => e.content);
  check(card.startsWith(`${base}/media/`), `the link card's picture is ${card}`);
  report.steps.push("published, and on the blog with its pictures");

  await page.goto(`${base}/admin/media`);
  const listed = await page.$$eval(".admin-media-item", (all) => all.map((e) => e.textContent));
  check(listed.length === 2 && listed.every((t) => t.includes("A walk in the woods")), `the media page: ${listed}`);
  await audit("media");
  report.steps.push("the pictures on the media page, with their post");

  await page.goto(`${base}/admin/posts/a-walk-in-the-woods/edit`);
  await page.$eval("#title", (e) => { e.value = "   "; });
  // Enter in a field saves, as the Save button does.
  await submit(() => page.press("#title", "Enter"));
  check((await text("#title-error")) === "The title must not be empty", "the message at the title");
  const invalid = await page.$eval("#title", (e) => e.getAttribute("aria-invalid"));
  check(invalid === "true", "the title is marked invalid");
  await audit("editor with an error");
  report.steps.push("an empty title, saved with Enter: refused, with the message at the field");

  await page.goto(`${base}/admin/posts/a-walk-in-the-woods/delete`);
  await audit("delete confirmation");
  await submit("button.button-danger");
  check(path() === "/admin/posts", `deleting led to ${page.url()}`);
  check((await text('[role="status"]')).includes("A walk in the woods"), "the list says what was deleted");
  const gone = await page.goto(`${base}/posts/a-walk-in-the-woods`);
  check(gone.status() === 410, `the deleted post answers ${gone.status()}`);
  report.steps.push("deleted after confirming: 410 on the blog");
});
