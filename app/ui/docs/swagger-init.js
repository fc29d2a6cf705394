// Starts Swagger UI on /docs. A file, not an inline script: the page's policy allows
// scripts from the service only.
"use strict";
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The key entered under "Authorize" is forgotten with the page, like the dashboard's
    // (never written to the browser's storage, where it would outlive the session).
    persistAuthorization: false,
    displayRequestDuration: true,
    tryItOutEnabled: false,
    // Never ask an outside validator about the document.
    validatorUrl: null,
  });
});
