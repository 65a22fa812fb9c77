// Studio enhancements: the fork form's journey stages can be added and reordered, and a training queue
// that is still running refreshes itself. Without this script the form offers a fixed number of stage
// rows and the queue a refresh link.
"use strict";

(function stages() {
  const list = document.getElementById("stages");
  const words = document.getElementById("stage-words");
  const add = document.getElementById("add-stage");
  const status = document.getElementById("stages-status");
  if (!list || !words || !add) return;

  function fill(text, number) { return text.replace("{number}", String(number)); }

  function renumber() {
    Array.from(list.children).forEach(function (row, index) {
      const number = index + 1;
      const labels = row.querySelectorAll("label");
      const input = row.querySelector("input");
      const select = row.querySelector("select");
      input.id = "goal-action-" + number; labels[0].htmlFor = input.id;
      select.id = "goal-outcome-" + number; labels[1].htmlFor = select.id;
      labels[0].textContent = fill(words.dataset.action, number);
      labels[1].textContent = fill(words.dataset.outcome, number);
      row.querySelector(".up").disabled = index === 0;
      row.querySelector(".down").disabled = index === list.children.length - 1;
    });
  }

  function move(row, offset, button) {
    const rows = Array.from(list.children);
    const target = rows.indexOf(row) + offset;
    if (target < 0 || target >= rows.length) return;
    if (offset < 0) list.insertBefore(row, rows[target]); else list.insertBefore(rows[target], row);
    renumber();
    status.textContent = fill(words.dataset.moved, target + 1);
    (button.disabled ? row.querySelector("input") : button).focus();
  }

  function equip(row) {
    [["up", -1], ["down", 1]].forEach(function (pair) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary " + pair[0];
      button.textContent = words.dataset[pair[0]];
      button.addEventListener("click", function () { move(row, pair[1], button); });
      row.appendChild(button);
    });
  }

  Array.from(list.children).forEach(equip);
  add.hidden = false;
  add.addEventListener("click", function () {
    const row = list.lastElementChild.cloneNode(true);
    row.querySelectorAll("button").forEach(function (button) { button.remove(); });
    row.querySelector("input").value = "";
    row.querySelector("select").value = "neutral";
    list.appendChild(row);
    equip(row);
    renumber();
    row.querySelector("input").focus();
  });
  renumber();
})();

(function queue() {
  const box = document.getElementById("queue");
  if (!box || !box.dataset.src) return;
  function running() { return box.querySelector('tr[data-status="queued"], tr[data-status="running"]'); }
  function poll() {
    if (!running()) return;
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { /* the refresh link still works */ })
      .finally(function () { window.setTimeout(poll, 1500); });
  }
  window.setTimeout(poll, 1500);
})();
