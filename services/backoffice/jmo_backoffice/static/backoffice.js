// The back office works without JavaScript; this only refreshes a claim page while the claim is
// still moving (approved -> paying -> paid), and stops as soon as the officer starts typing.
(function () {
  "use strict";
  var marker = document.querySelector("[data-autorefresh]");
  if (!marker) { return; }
  var seconds = parseInt(marker.getAttribute("data-autorefresh"), 10) || 5;
  var typing = false;
  document.addEventListener("input", function () { typing = true; });
  window.setTimeout(function () { if (!typing) { window.location.reload(); } }, seconds * 1000);
})();
