// fedblog's admin pages: what JavaScript adds to forms that work without
// it. In the editor, the preview follows the typing (the server renders
// it, with the public page's renderer), and a picture dropped on the text
// is uploaded and its Markdown put at the cursor.
"use strict";

(function () {
  const form = document.querySelector("form[data-editor]");
  if (!form) return;
  const body = form.querySelector("#body");
  const title = form.querySelector("#title");
  const summary = form.querySelector("#summary");
  const csrf = form.querySelector("input[name=csrf]").value;
  const status = document.getElementById("editor-status");
  const say = (text) => {
    if (status) status.textContent = text;
  };

  // The live preview -------------------------------------------------------
  let section = document.querySelector(".admin-preview");
  let timer = null;
  let sent = 0;
  function previewSection() {
    if (section) return section;
    section = document.createElement("section");
    section.className = "admin-preview";
    section.setAttribute("aria-labelledby", "preview-heading");
    section.innerHTML =
      '<h2 id="preview-heading" class="admin-preview-label">Preview</h2>' +
      '<article class="post"><h1 class="post-title"></h1><div class="post-content"></div></article>' +
      '<p class="form-help"></p>';
    form.after(section);
    return section;
  }
  async function refresh() {
    const mine = ++sent;
    const data = new URLSearchParams({
      csrf,
      title: title.value,
      body: body.value,
      summary: summary ? summary.value : "",
    });
    let response;
    try {
      response = await fetch("/admin/posts/preview", {
        method: "POST",
        headers: { Accept: "application/json" },
        body: data,
        credentials: "same-origin",
      });
    } catch {
      return; // Offline: the Preview button still works.
    }
    if (mine !== sent) return; // A newer one is on its way.
    const answer = await response.json().catch(() => null);
    if (!response.ok || !answer || answer.html === undefined) {
      // Not previewable yet (no title): leave what is shown.
      return;
    }
    const s = previewSection();
    s.querySelector(".post-title").textContent = answer.title;
    // Sanitized by the server, as the public page is.
    s.querySelector(".post-content").innerHTML = answer.html;
    s.querySelector(".form-help").textContent =
      "Summary in listings and link cards: " + answer.excerpt;
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  }
  for (const field of [title, body, summary]) {
    if (field) field.addEventListener("input", later);
  }

  // Pictures dropped on the text --------------------------------------------
  const altField = form.querySelector("#image_alt");
  body.addEventListener("dragover", (event) => {
    if (![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault();
    body.classList.add("admin-dropping");
  });
  body.addEventListener("dragleave", () => body.classList.remove("admin-dropping"));
  body.addEventListener("drop", async (event) => {
    const files = [...event.dataTransfer.files];
    if (files.length === 0) return;
    event.preventDefault();
    body.classList.remove("admin-dropping");
    for (const file of files) {
      await upload(file);
    }
  });

  async function upload(file) {
    let alt = altField && altField.value.trim();
    if (!alt) {
      alt = window.prompt(`Describe “${file.name}” for readers who cannot see it:`, "");
      if (alt === null) return say("Not added.");
    }
    say(`Uploading ${file.name}…`);
    const data = new FormData();
    data.append("csrf", csrf);
    data.append("alt", alt);
    data.append("file", file, file.name);
    let response;
    try {
      response = await fetch("/admin/media", {
        method: "POST",
        headers: { Accept: "application/json" },
        body: data,
        credentials: "same-origin",
      });
    } catch {
      return say(`${file.name} could not be sent. Use the Picture field instead.`);
    }
    const json = (response.headers.get("Content-Type") || "").startsWith("application/json");
    if (!json) {
      // Sent to the sign-in page: the session ended.
      return say("You were signed out. Sign in again (in another tab), then drop the picture again.");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || typeof answer.markdown !== "string") {
      return say(answer.error || `${file.name} was not taken (${response.status}).`);
    }
    const at = body.selectionStart ?? body.value.length;
    const before = body.value.slice(0, at);
    const gap = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    body.setRangeText(`${gap}${answer.markdown}\n`, at, body.selectionEnd ?? at, "end");
    if (altField) altField.value = "";
    say(`${file.name} is in the text. Save to keep it.`);
    refresh();
  }
})();
