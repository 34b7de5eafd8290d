// A refused form comes back with its error summary autofocused, which needs no script: the browser
// shows the form and a screen reader reads the summary. With script, two small things more: the
// summary gets focus even where the browser skipped autofocus, and the address bar shows the page
// and the form's #anchor instead of the POST URL (a reload or a copied link opens the page at the
// form instead of posting again).
(() => {
  const summary = document.querySelector("[data-error-summary]");
  if (!summary || summary.dataset.seen) return; // loaded once per refused form
  summary.dataset.seen = "yes";
  if (!summary.contains(document.activeElement)) summary.focus();
  const url = summary.dataset.url;
  if (!url || !url.startsWith("/")) return;
  // Only once loaded: a URL with a #fragment during loading makes the browser scroll to it when
  // loading ends, taking the focus off the summary.
  const showPageUrl = () => history.replaceState(history.state, "", url);
  if (document.readyState === "complete") showPageUrl();
  else window.addEventListener("load", showPageUrl, { once: true });
})();
