# Unit tests (Check), one program per lib/ module, and the exported-symbols
# check.  Included from the root Makefile.am.

GB_UNIT_TESTS = \
	tests/unit/test_gb_arena \
	tests/unit/test_gb_buf \
	tests/unit/test_gb_clientip \
	tests/unit/test_gb_config \
	tests/unit/test_gb_cors \
	tests/unit/test_gb_envelope \
	tests/unit/test_gb_err \
	tests/unit/test_gb_filter \
	tests/unit/test_gb_hmac \
	tests/unit/test_gb_jwt \
	tests/unit/test_gb_llm \
	tests/unit/test_gb_log \
	tests/unit/test_gb_metrics \
	tests/unit/test_gb_password \
	tests/unit/test_gb_plugin \
	tests/unit/test_gb_ratelimit \
	tests/unit/test_gb_redis \
	tests/unit/test_gb_reqid \
	tests/unit/test_gb_request \
	tests/unit/test_gb_response \
	tests/unit/test_gb_router \
	tests/unit/test_gb_schema \
	tests/unit/test_gb_sign \
	tests/unit/test_gb_sql \
	tests/unit/test_gb_task \
	tests/unit/test_gb_token \
	tests/unit/test_gb_url

check_PROGRAMS += $(GB_UNIT_TESTS)
TESTS += $(GB_UNIT_TESTS) tests/unit/exports.sh
EXTRA_DIST += tests/unit/exports.sh

# exports.sh finds lib/.libs/libgerbang.so through abs_top_builddir, so it
# works from an out-of-tree build.  Later parts may add with +=.
AM_TESTS_ENVIRONMENT = abs_top_builddir='$(abs_top_builddir)'; export abs_top_builddir;

GB_UNIT_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS) $(CHECK_CFLAGS)
GB_UNIT_LIBS = lib/libgerbang.la $(CHECK_LIBS) $(DEP_LIBS)

tests_unit_test_gb_arena_SOURCES = tests/unit/test_gb_arena.c tests/unit/gb_test.h
tests_unit_test_gb_arena_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_arena_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_buf_SOURCES = tests/unit/test_gb_buf.c tests/unit/gb_test.h
tests_unit_test_gb_buf_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_buf_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_clientip_SOURCES = tests/unit/test_gb_clientip.c tests/unit/gb_test.h
tests_unit_test_gb_clientip_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_clientip_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_config_SOURCES = tests/unit/test_gb_config.c tests/unit/gb_test.h
tests_unit_test_gb_config_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_config_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_cors_SOURCES = tests/unit/test_gb_cors.c tests/unit/gb_test.h
tests_unit_test_gb_cors_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_cors_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_envelope_SOURCES = tests/unit/test_gb_envelope.c tests/unit/gb_test.h
tests_unit_test_gb_envelope_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_envelope_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_err_SOURCES = tests/unit/test_gb_err.c tests/unit/gb_test.h
tests_unit_test_gb_err_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_err_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_hmac_SOURCES = tests/unit/test_gb_hmac.c tests/unit/gb_test.h
tests_unit_test_gb_hmac_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_hmac_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_jwt_SOURCES = tests/unit/test_gb_jwt.c tests/unit/gb_test.h
tests_unit_test_gb_jwt_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_jwt_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_llm_SOURCES = tests/unit/test_gb_llm.c tests/unit/gb_test.h
tests_unit_test_gb_llm_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_llm_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_log_SOURCES = tests/unit/test_gb_log.c tests/unit/gb_test.h
tests_unit_test_gb_log_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_log_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_metrics_SOURCES = tests/unit/test_gb_metrics.c tests/unit/gb_test.h
tests_unit_test_gb_metrics_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_metrics_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_password_SOURCES = tests/unit/test_gb_password.c tests/unit/gb_test.h
tests_unit_test_gb_password_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_password_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_plugin_SOURCES = tests/unit/test_gb_plugin.c tests/unit/gb_test.h
tests_unit_test_gb_plugin_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_plugin_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_ratelimit_SOURCES = tests/unit/test_gb_ratelimit.c tests/unit/gb_test.h
tests_unit_test_gb_ratelimit_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_ratelimit_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_redis_SOURCES = tests/unit/test_gb_redis.c tests/unit/gb_test.h
tests_unit_test_gb_redis_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_redis_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_reqid_SOURCES = tests/unit/test_gb_reqid.c tests/unit/gb_test.h
tests_unit_test_gb_reqid_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_reqid_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_request_SOURCES = tests/unit/test_gb_request.c tests/unit/gb_test.h
tests_unit_test_gb_request_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_request_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_response_SOURCES = tests/unit/test_gb_response.c tests/unit/gb_test.h
tests_unit_test_gb_response_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_response_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_router_SOURCES = tests/unit/test_gb_router.c tests/unit/gb_test.h
tests_unit_test_gb_router_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_router_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_schema_SOURCES = tests/unit/test_gb_schema.c tests/unit/gb_test.h
tests_unit_test_gb_schema_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_schema_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_filter_SOURCES = tests/unit/test_gb_filter.c tests/unit/gb_test.h
tests_unit_test_gb_filter_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_filter_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_sql_SOURCES = tests/unit/test_gb_sql.c tests/unit/gb_test.h
tests_unit_test_gb_sql_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_sql_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_sign_SOURCES = tests/unit/test_gb_sign.c tests/unit/gb_test.h
tests_unit_test_gb_sign_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_sign_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_task_SOURCES = tests/unit/test_gb_task.c tests/unit/gb_test.h
tests_unit_test_gb_task_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_task_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_token_SOURCES = tests/unit/test_gb_token.c tests/unit/gb_test.h
tests_unit_test_gb_token_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_token_LDADD = $(GB_UNIT_LIBS)

tests_unit_test_gb_url_SOURCES = tests/unit/test_gb_url.c tests/unit/gb_test.h
tests_unit_test_gb_url_CFLAGS = $(GB_UNIT_CFLAGS)
tests_unit_test_gb_url_LDADD = $(GB_UNIT_LIBS)
