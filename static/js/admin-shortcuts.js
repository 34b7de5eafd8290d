/* Keyboard shortcuts for the dispute team's admin screens. A file, not an inline script: the
   Content-Security-Policy allows our own files only. Every shortcut has a button or link too.
     n      the next dispute to work on (a link marked data-shortcut="n")
     c      claim: on the review screen its Claim button; in the queue the chosen row's, or the
            first row that can be claimed
     j / k  in the queue, choose the next / previous row (Enter opens it)
   Keys typed into a field, or with Ctrl, Alt or Meta, are left alone. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function rows() {
    // The review queue's rows only: other admin lists keep their keys.
    return Array.prototype.filter.call(document.querySelectorAll("#result_list tbody tr"), function (row) {
      return row.querySelector("a.queue-link");
    });
  }

  function currentRow() {
    return document.querySelector("#result_list tbody tr.is-current");
  }

  function choose(step) {
    var list = rows();
    if (!list.length) return;
    var index = list.indexOf(currentRow());
    index = index === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    list.forEach(function (row) { row.classList.remove("is-current"); });
    var row = list[index];
    row.classList.add("is-current");
    var link = row.querySelector("a.queue-link");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function claimTarget() {
    var row = currentRow();
    var inRow = row && row.querySelector("[data-move='claim']");
    return inRow || document.querySelector("[data-shortcut='c']") || document.querySelector("#result_list [data-move='claim']");
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    var target = null;
    if (event.key === "j" || event.key === "k") {
      if (!rows().length) return;
      event.preventDefault();
      choose(event.key === "j" ? 1 : -1);
      return;
    }
    if (event.key === "c") target = claimTarget();
    else if (event.key === "n") target = document.querySelector("[data-shortcut='n']");
    if (target) {
      event.preventDefault();
      target.click();
    }
  });
})();
