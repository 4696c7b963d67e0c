// Starts Swagger UI on the element that names the spec URL. Kept in a file (not inline)
// so the page's Content-Security-Policy can forbid inline scripts.
window.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    deepLinking: true,
    displayRequestDuration: true,
    tryItOutEnabled: false,
  });
});
