// The shop's basket form: says at once when a quantity is more than is left, naming the product.
(function () {
  var form = document.getElementById('shop-form');
  if (!form) return;
  function check(input) {
    var most = parseInt(input.getAttribute('max'), 10);
    var typed = parseInt(input.value, 10);
    var over = !isNaN(most) && !isNaN(typed) && typed > most;
    var message = over ? (input.getAttribute('data-too-many') || '') : '';
    input.setCustomValidity(message);
    var item = input.closest('.offer');
    var note = item && item.querySelector('.field-error.live');
    if (over && item && !note) {
      note = document.createElement('p');
      note.className = 'field-error live';
      note.id = input.id + '-live';
      note.setAttribute('role', 'alert');
      item.appendChild(note);
      input.setAttribute('aria-describedby', note.id);
    }
    if (note) {
      note.textContent = message;
      note.hidden = !over;
    }
  }
  ['input', 'change'].forEach(function (kind) {
    form.addEventListener(kind, function (e) {
      if (e.target.matches('input[type=number]')) check(e.target);
    });
  });
})();
