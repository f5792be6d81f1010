/*
 * Renders /openapi.json with Swagger UI (served by the API from the swagger-ui-dist package: no CDN). A file of its
 * own rather than an inline script, so that a Content-Security-Policy can forbid inline scripts. The document and
 * "Try it out" requests go to the same origin and carry the page's session cookie.
 */
/* global SwaggerUIBundle */
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // No badge from validator.swagger.io: the page makes no request outside this server.
    validatorUrl: null,
  });
});
