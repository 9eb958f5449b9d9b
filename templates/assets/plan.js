// The harvest plan while members order: its figures are fetched again every few minutes and
// swapped in place, so the page never reloads under the reader.
(function () {
  var plans = document.getElementById('plans');
  if (!plans) return;
  var seconds = parseInt(plans.getAttribute('data-refresh-seconds'), 10);
  if (!seconds) return;
  setInterval(function () {
    fetch(location.pathname, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('plans');
        if (fresh) plans.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }, seconds * 1000);
})();
