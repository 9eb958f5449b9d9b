// Confirms a Stripe payment on the order page; without JavaScript the page says so and nothing is charged.
(function () {
  var box = document.getElementById("stripe-payment");
  if (!box || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(box.dataset.key);
  var elements = stripe.elements({ clientSecret: box.dataset.secret, locale: document.documentElement.lang });
  elements.create("payment").mount("#payment-element");
  var form = document.getElementById("stripe-form");
  var message = document.getElementById("stripe-message");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: box.dataset.returnUrl } }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;
        form.querySelector("button").disabled = false;
      }
    });
  });
  document.getElementById("stripe-nojs").hidden = true;
  form.hidden = false;
})();
