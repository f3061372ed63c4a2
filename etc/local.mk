# etc/ - configuration shipped with gerbang: systemd units, tmpfiles.d,
# /etc/default/gerbang, the nginx site and snippets, the lighttpd module,
# and the README of the plugin registry.
# Installed as data so that `make install` (and the Debian package, which
# runs it) puts every file where its consumer looks for it.
#
# A new FastCGI program gerbang-X adds its two units to
# dist_systemdsystemunit_DATA and nothing else here (its nginx locations
# and lighttpd block go into the existing files).
# A daemon (gerbang-worker) adds its .service alone.

# systemd: one .socket + .service pair per FastCGI program.
# systemdsystemunitdir comes from configure (--with-systemdsystemunitdir).
dist_systemdsystemunit_DATA = \
	etc/systemd/gerbang-health.socket \
	etc/systemd/gerbang-health.service \
	etc/systemd/gerbang-auth.socket \
	etc/systemd/gerbang-auth.service \
	etc/systemd/gerbang-users.socket \
	etc/systemd/gerbang-users.service \
	etc/systemd/gerbang-proxy.socket \
	etc/systemd/gerbang-proxy.service \
	etc/systemd/gerbang-metrics.socket \
	etc/systemd/gerbang-metrics.service \
	etc/systemd/gerbang-tasks.socket \
	etc/systemd/gerbang-tasks.service \
	etc/systemd/gerbang-data.socket \
	etc/systemd/gerbang-data.service \
	etc/systemd/gerbang-chat.socket \
	etc/systemd/gerbang-chat.service \
	etc/systemd/gerbang-worker.service

# /run/gerbang: owner, group and mode (see the file).
tmpfilesdir = $(prefix)/lib/tmpfiles.d
dist_tmpfiles_DATA = etc/systemd/tmpfiles.d/gerbang.conf

# Environment read by every unit (EnvironmentFile=-/etc/default/gerbang).
sysconfdefaultdir = $(sysconfdir)/default
dist_sysconfdefault_DATA = etc/default/gerbang

# nginx: the snippets keep their names; the site is installed as
# sites-available/gerbang (no .conf), which automake's _DATA cannot rename,
# hence the install-data-local rule below.
nginxsnippetsdir = $(sysconfdir)/nginx/snippets
dist_nginxsnippets_DATA = \
	etc/nginx/gerbang-fastcgi.conf \
	etc/nginx/gerbang-fastcgi-params.conf
nginxsitesdir = $(sysconfdir)/nginx/sites-available
EXTRA_DIST += etc/nginx/gerbang.conf

# lighttpd: enable with lighty-enable-mod gerbang.
lighttpdconfdir = $(sysconfdir)/lighttpd/conf-available
dist_lighttpdconf_DATA = etc/lighttpd/50-gerbang.conf

# The plugin registry, PLUGIN_DIR (/etc/gerbang/plugins.d by default),
# holds the administrator's manifests and plugin secrets only: nothing is
# installed into it.  Its owner and mode (root:gerbang 0750) need the
# system group, so whoever creates the user creates the directory too (the
# Debian postinst does).  Its README is documentation, installed as
# $(docdir)/README.plugins.d; renamed, hence the rule below.
EXTRA_DIST += etc/plugins.d/README

install-data-local: gb-install-nginx-site gb-install-plugins-readme
uninstall-local: gb-uninstall-nginx-site gb-uninstall-plugins-readme

gb-install-nginx-site:
	$(MKDIR_P) '$(DESTDIR)$(nginxsitesdir)'
	$(INSTALL_DATA) '$(srcdir)/etc/nginx/gerbang.conf' '$(DESTDIR)$(nginxsitesdir)/gerbang'

gb-uninstall-nginx-site:
	rm -f '$(DESTDIR)$(nginxsitesdir)/gerbang'

gb-install-plugins-readme:
	$(MKDIR_P) '$(DESTDIR)$(docdir)'
	$(INSTALL_DATA) '$(srcdir)/etc/plugins.d/README' '$(DESTDIR)$(docdir)/README.plugins.d'

gb-uninstall-plugins-readme:
	rm -f '$(DESTDIR)$(docdir)/README.plugins.d'

.PHONY: gb-install-nginx-site gb-uninstall-nginx-site gb-install-plugins-readme \
	gb-uninstall-plugins-readme
