// Commune fields suggest French communes as people type; the form works the same without it.
(function () {
  var fields = document.querySelectorAll('input[data-places]');
  Array.prototype.forEach.call(fields, function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    if (!list) return;
    var timer = null;
    var asked = '';
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || q === asked) return;
      timer = setTimeout(function () {
        asked = q;
        fetch('/api/v1/places?q=' + encodeURIComponent(q), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (places) {
            if (input.value.trim() !== q) return;
            list.textContent = '';
            places.forEach(function (p) {
              var option = document.createElement('option');
              option.value = p.label;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 150);
    });
  });
})();
