# man/ - one page per installed program (section 8 for the FastCGI programs
# and daemons, 1 for user commands) and gerbang(7) for the suite.  A new
# program adds its page here.
dist_man_MANS += \
	man/gerbang.7 \
	man/gerbang-health.8 \
	man/gerbang-auth.8 \
	man/gerbang-admin.8 \
	man/gerbang-migrate.8 \
	man/gerbang-users.8 \
	man/gerbang-proxy.8 \
	man/gerbang-metrics.8 \
	man/gerbang-tasks.8 \
	man/gerbang-data.8 \
	man/gerbang-chat.8 \
	man/gerbang-worker.8 \
	man/gerbang-echo.8
