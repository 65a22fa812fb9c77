// The Studio's copilot form: colours and title follow the typing in the preview (same origin, so the
// frame's document is reachable), and copy buttons put the URL or the snippet on the clipboard.
"use strict";
(() => {
  const frame = document.getElementById("copilot-preview");
  const preview = (input) => {
    const page = frame && frame.contentDocument;
    if (!page || !page.documentElement) return;
    const target = input.dataset.preview;
    if (target.startsWith("--")) {
      page.documentElement.style.setProperty(target, input.value);
    } else {
      const brand = page.querySelector(".topbar .brand");
      if (brand && brand.lastChild) brand.lastChild.textContent = input.value;
    }
  };
  for (const input of document.querySelectorAll("[data-preview]")) {
    input.addEventListener("input", () => preview(input));
  }
  const status = document.getElementById("copy-status");
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        if (status) status.textContent = status.dataset.copied;
      } catch {
        if (status) status.textContent = document.execCommand("copy") ? status.dataset.copied : status.dataset.failed;
      }
    });
  }
})();
