// gatehouse /docs: starts the vendored Swagger UI on /openapi.json. Kept
// in its own file because the page's Content-Security-Policy allows only
// the server's own scripts (no inline script).
"use strict";
window.addEventListener("load", function () {
  var ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Never phone home to validator.swagger.io.
    validatorUrl: null,
    // Tokens live in the page's memory only, not in localStorage.
    persistAuthorization: false,
    displayRequestDuration: true,
    showExtensions: false,
    oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect.html"
  });
  // The password flow logs in as the built-in first-party client, which
  // is public (no secret). The authorization-code flow uses PKCE.
  ui.initOAuth({
    clientId: "gatehouse",
    appName: "gatehouse /docs",
    usePkceWithAuthorizationCodeGrant: true
  });
  window.ui = ui;
});
