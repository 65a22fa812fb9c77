// The Recruiter Copilot: rating and stage forms post without leaving the table. Without this script the
// forms post and the server brings the recruiter back to the same page; with it, the page stays put, the
// row shows the new rating or stage, and the confirmation is announced in the page's live region.
"use strict";

(function () {
  const status = document.getElementById("recruiter-status");

  function announce(message, good) {
    if (!status) return;
    status.textContent = message;
    status.className = "status notice " + (good ? "good" : "bad");
  }

  function showInRow(form) {
    const row = form.closest("tr");
    if (!row) return;
    const select = form.querySelector("select");
    const cell = row.querySelector(form.dataset.kind === "rating" ? "td.stars" : "td.stage");
    if (cell && select) cell.textContent = select.options[select.selectedIndex].text;
  }

  async function send(event) {
    const form = event.target;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      announce(answer.message, response.ok);
      if (response.ok) showInRow(form);
    } catch (error) {
      form.submit(); // the network or the answer failed: fall back to the plain post
    } finally {
      button.disabled = false;
    }
  }

  document.querySelectorAll("form.row-feedback").forEach(function (form) {
    form.addEventListener("submit", send);
  });
})();
