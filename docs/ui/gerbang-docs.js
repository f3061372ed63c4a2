/* gerbang /docs: Swagger UI over /openapi.json.
 *
 * A file of its own, not an inline script, so that the page's
 * Content-Security-Policy can stay at script-src 'self'. */
"use strict";

window.addEventListener("load", function () {
	window.ui = SwaggerUIBundle({
		url: "/openapi.json",
		dom_id: "#swagger-ui",
		// Never load another description named in the page's query string.
		queryConfigEnabled: false,
		// No badge from validator.swagger.io: the page talks to this origin only.
		validatorUrl: null,
		deepLinking: true,
		displayRequestDuration: true,
		// A token pasted into "Authorize" lives as long as the tab, no longer.
		persistAuthorization: false,
		withCredentials: false
	});
});
