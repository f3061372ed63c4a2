# docs/ - the API description, docs/openapi.json, and the page that
# renders it with Swagger UI, docs/ui/.  The shipped nginx and lighttpd
# configs serve them as static files from $(pkgdatadir): /openapi.json and
# /docs (README.md, "API description").
#
# Swagger UI comes from npm: docs/ui/package.json and package-lock.json pin
# one version of swagger-ui-dist (with its integrity hash), and
# `npm ci --ignore-scripts` in docs/ui (scripts/dev runs it) puts it in
# docs/ui/node_modules, which git ignores.  Of that package only the files
# below are used: make copies them into docs/ui/swagger-ui/ of the build
# directory, and they are distributed, so that a tarball (make distcheck)
# builds and installs without npm or a network.  Nothing is ever fetched
# at run time.  To move to another version, see README.md.

openapidir = $(pkgdatadir)
dist_openapi_DATA = docs/openapi.json

GB_SWAGGER_UI_PAGE = \
	docs/ui/swagger-ui/swagger-ui-bundle.js \
	docs/ui/swagger-ui/swagger-ui.css
# Apache-2.0 asks for its licence and NOTICE beside the copies; the
# bundle's own file lists the notices of what it bundles.
GB_SWAGGER_UI_DOC = \
	docs/ui/swagger-ui/LICENSE \
	docs/ui/swagger-ui/NOTICE \
	docs/ui/swagger-ui/swagger-ui-bundle.js.LICENSE.txt

gbdocsdir = $(pkgdatadir)/docs
dist_gbdocs_DATA = docs/ui/index.html docs/ui/gerbang-docs.js $(GB_SWAGGER_UI_PAGE)
swaggeruidocdir = $(docdir)/swagger-ui
dist_swaggeruidoc_DATA = $(GB_SWAGGER_UI_DOC)

# Copied again when the lock file changes (a new version).  The version in
# node_modules must be the pinned one: a stale `npm ci` never ships.  From
# a tarball the copies are already in the source directory, newer than the
# lock file, and make finds them there (VPATH).
$(GB_SWAGGER_UI_PAGE) $(GB_SWAGGER_UI_DOC): $(srcdir)/docs/ui/package-lock.json
	@$(MKDIR_P) docs/ui/swagger-ui
	$(AM_V_GEN)m='$(srcdir)/docs/ui/node_modules/swagger-ui-dist'; \
	want=`sed -n 's/^ *"swagger-ui-dist": *"\([^"]*\)".*/\1/p' '$(srcdir)/docs/ui/package.json'`; \
	have=`sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$$m/package.json" 2>/dev/null | sed -n 1p`; \
	if test -z "$$want" || test "x$$have" != "x$$want"; then \
	  echo "$@: swagger-ui-dist $$want is not in $$m (found: $${have:-nothing})." >&2; \
	  echo "Install the pinned version first: cd $(srcdir)/docs/ui && npm ci --ignore-scripts" >&2; \
	  echo "(scripts/dev does this), or build from a release tarball, which has the files." >&2; \
	  exit 1; \
	fi; \
	cp "$$m/$(@F)" $@.tmp && mv -f $@.tmp $@
