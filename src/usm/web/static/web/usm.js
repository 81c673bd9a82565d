// What htmx leaves silent: a request that failed outright. Say so where people look, instead
// of a button that seems to do nothing.
(function () {
  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) return;
    var line = document.createElement("p");
    line.className = "notice error";
    line.textContent = text;
    box.replaceChildren(line);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 403) flash("You are not allowed to do that.");
    else if (status === 404) flash("That no longer exists. Reload the page.");
    else flash("Something went wrong on the server (" + status + "). Reload the page and try again.");
  });
  // A workflow diagram is wider than the page: scroll its frame so the current step is in view.
  function centreCurrentStep() {
    document.querySelectorAll("figure.diagram[data-highlight]").forEach(function (frame) {
      var step = document.getElementById(frame.dataset.highlight);
      if (!step) return;
      var box = step.getBoundingClientRect();
      var view = frame.getBoundingClientRect();
      frame.scrollLeft += box.left - view.left - (view.width - box.width) / 2;
    });
  }
  document.addEventListener("DOMContentLoaded", centreCurrentStep);
  document.addEventListener("htmx:afterSettle", centreCurrentStep);
  window.addEventListener("resize", centreCurrentStep);
  document.addEventListener("htmx:sendError", function () {
    flash("The server cannot be reached. Check the connection and try again.");
  });
})();
