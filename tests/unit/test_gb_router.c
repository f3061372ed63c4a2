/* Tests for lib/gb_router.c: method + pattern matching, 404 and 405. */
#include "config.h"

#include "gb_router.h"
#include "gb_test.h"
#include "gb_url.h"

/* Handlers are never called here; distinct functions tell routes apart. */
static void h_root(struct gb_ctx *c) { (void)c; }
static void h_health(struct gb_ctx *c) { (void)c; }
static void h_users(struct gb_ctx *c) { (void)c; }
static void h_user_new(struct gb_ctx *c) { (void)c; }
static void h_me(struct gb_ctx *c) { (void)c; }
static void h_user(struct gb_ctx *c) { (void)c; }
static void h_user_put(struct gb_ctx *c) { (void)c; }
static void h_user_del(struct gb_ctx *c) { (void)c; }
static void h_data(struct gb_ctx *c) { (void)c; }
static void h_task(struct gb_ctx *c) { (void)c; }
static void h_head(struct gb_ctx *c) { (void)c; }
static void h_eight(struct gb_ctx *c) { (void)c; }
static void h_nine(struct gb_ctx *c) { (void)c; }

static const struct gb_route routes[] = {
	/* 0 */ { "GET", "/", h_root, GB_PUBLIC, 0, NULL },
	/* 1 */ { "GET", "/healthz", h_health, GB_PUBLIC, 0, NULL },
	/* 2 */ { "GET", "/v1/users", h_users, GB_JWT, 0, NULL },
	/* 3 */ { "POST", "/v1/users", h_user_new, GB_JWT, 0, NULL },
	/* 4 */ { "GET", "/v1/users/me", h_me, GB_JWT, 0, NULL },
	/* 5 */ { "GET", "/v1/users/{id}", h_user, GB_JWT, 0, NULL },
	/* 6 */ { "PUT", "/v1/users/{id}", h_user_put, GB_JWT, 0, NULL },
	/* 7 */ { "DELETE", "/v1/users/{id}", h_user_del, GB_JWT, 0, NULL },
	/* 8 */ { "GET", "/v1/data/{resource}/{id}", h_data, GB_JWT, 0, NULL },
	/* 9 */ { "POST", "/v1/tasks/{kind}", h_task, GB_JWT, 0, NULL },
	/* 10 */ { "HEAD", "/only-head", h_head, GB_PUBLIC, 0, NULL },
	/* 11 */ { "GET", "/p/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", h_eight, GB_PUBLIC, 0, NULL },
	/* 12 */ { "GET", "/q/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_nine, GB_PUBLIC, 0, NULL },
};

static const struct {
	const char *method;
	const char *path;        /* already normalized */
	enum gb_err err;
	int route;               /* index into routes, -1 when none */
	const char *allow;       /* on GB_EMETHOD */
	const char *params[6];   /* name, value, ..., NULL */
} cases[] = {
	{ "GET", "/", GB_OK, 0, "", { NULL } },
	{ "GET", "/healthz", GB_OK, 1, "", { NULL } },
	{ "HEAD", "/healthz", GB_OK, 1, "", { NULL } },
	{ "HEAD", "/", GB_OK, 0, "", { NULL } },
	{ "GET", "/healthz/", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/healthzz", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/Healthz", GB_ENOTFOUND, -1, "", { NULL } },
	{ "POST", "/healthz", GB_EMETHOD, -1, "GET, HEAD", { NULL } },
	{ "get", "/healthz", GB_EMETHOD, -1, "GET, HEAD", { NULL } },
	{ "GET", "/nope", GB_ENOTFOUND, -1, "", { NULL } },
	{ "POST", "/nope", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/v1/users", GB_OK, 2, "", { NULL } },
	{ "POST", "/v1/users", GB_OK, 3, "", { NULL } },
	{ "DELETE", "/v1/users", GB_EMETHOD, -1, "GET, HEAD, POST", { NULL } },
	{ "GET", "/v1/users/", GB_ENOTFOUND, -1, "", { NULL } },
	/* first match wins: the literal is listed before {id} */
	{ "GET", "/v1/users/me", GB_OK, 4, "", { NULL } },
	{ "HEAD", "/v1/users/me", GB_OK, 4, "", { NULL } },
	{ "PUT", "/v1/users/me", GB_OK, 6, "", { "id", "me", NULL } },
	{ "GET", "/v1/users/42", GB_OK, 5, "", { "id", "42", NULL } },
	{ "DELETE", "/v1/users/42", GB_OK, 7, "", { "id", "42", NULL } },
	{ "PATCH", "/v1/users/42", GB_EMETHOD, -1, "GET, HEAD, PUT, DELETE", { NULL } },
	{ "PATCH", "/v1/users/me", GB_EMETHOD, -1, "GET, HEAD, PUT, DELETE", { NULL } },
	{ "GET", "/v1/users/42/", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/v1/users/42/x", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/v1/data/items/7", GB_OK, 8, "", { "resource", "items", "id", "7", NULL } },
	{ "GET", "/v1/data/items", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/v1/data/items/", GB_ENOTFOUND, -1, "", { NULL } },
	{ "GET", "/v1/data/items/7/x", GB_ENOTFOUND, -1, "", { NULL } },
	{ "POST", "/v1/tasks/echo", GB_OK, 9, "", { "kind", "echo", NULL } },
	{ "GET", "/v1/tasks/echo", GB_EMETHOD, -1, "POST", { NULL } },
	{ "HEAD", "/v1/tasks/echo", GB_EMETHOD, -1, "POST", { NULL } },
	{ "HEAD", "/only-head", GB_OK, 10, "", { NULL } },
	{ "GET", "/only-head", GB_EMETHOD, -1, "HEAD", { NULL } },
	/* values as the path decoded them */
	{ "GET", "/v1/users/a b", GB_OK, 5, "", { "id", "a b", NULL } },
	{ "GET", "/v1/users/\xc3\xa9", GB_OK, 5, "", { "id", "\xc3\xa9", NULL } },
	{ "GET", "/v1/users/{id}", GB_OK, 5, "", { "id", "{id}", NULL } },
	/* eight parameters fit, nine never match */
	{ "GET", "/p/1/2/3/4/5/6/7/8", GB_OK, 11, "", { "a", "1", "h", "8", NULL } },
	{ "GET", "/q/1/2/3/4/5/6/7/8/9", GB_ENOTFOUND, -1, "", { NULL } },
	{ "POST", "/q/1/2/3/4/5/6/7/8/9", GB_ENOTFOUND, -1, "", { NULL } },
};

START_TEST(test_match)
{
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;
	enum gb_err e;
	size_t i;

	memset(&m, 0x5a, sizeof(m));
	e = gb_route_match(routes, NELEM(routes), cases[_i].method, cases[_i].path, a, &m);
	ck_assert_msg(e == cases[_i].err, "%s %s: got %d, want %d", cases[_i].method,
	              cases[_i].path, e, cases[_i].err);
	if (e == GB_OK) {
		ck_assert_ptr_eq(m.route, &routes[cases[_i].route]);
		for (i = 0; cases[_i].params[i] != NULL; i += 2)
			ck_assert_pstr_eq(gb_route_param(&m, cases[_i].params[i]),
			                  cases[_i].params[i + 1]);
	} else {
		ck_assert_ptr_null(m.route);
		ck_assert_uint_eq(m.nparams, 0);
	}
	ck_assert_str_eq(m.allow, e == GB_EMETHOD ? cases[_i].allow : "");
	gb_arena_free(a);
}
END_TEST

START_TEST(test_params_all)
{
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;
	static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	char want[8];
	size_t i;

	ck_assert_int_eq(gb_route_match(routes, NELEM(routes), "GET", "/p/x1/x2/x3/x4/x5/x6/x7/x8",
	                                a, &m), GB_OK);
	ck_assert_uint_eq(m.nparams, 8);
	for (i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "x%zu", i + 1);
		ck_assert_str_eq(m.params[i].name, names[i]);
		ck_assert_str_eq(m.params[i].value, want);
		ck_assert_str_eq(gb_route_param(&m, names[i]), want);
	}
	ck_assert_ptr_null(gb_route_param(&m, "i"));
	ck_assert_ptr_null(gb_route_param(&m, ""));
	gb_arena_free(a);
}
END_TEST

START_TEST(test_params_from_raw_path)
{
	/* the router sees what gb_path_normalize made of the raw path */
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;
	char *path;
	static const char raw[] = "/v1/x/../data/caf%C3%A9/%31%32";

	ck_assert_int_eq(gb_path_normalize(a, raw, strlen(raw), &path), GB_OK);
	ck_assert_str_eq(path, "/v1/data/caf\xc3\xa9/12");
	ck_assert_int_eq(gb_route_match(routes, NELEM(routes), "GET", path, a, &m), GB_OK);
	ck_assert_ptr_eq(m.route, &routes[8]);
	ck_assert_str_eq(gb_route_param(&m, "resource"), "caf\xc3\xa9");
	ck_assert_str_eq(gb_route_param(&m, "id"), "12");
	gb_arena_free(a);
}
END_TEST

START_TEST(test_empty_table)
{
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;

	ck_assert_int_eq(gb_route_match(routes, 0, "GET", "/", a, &m), GB_ENOTFOUND);
	ck_assert_ptr_null(m.route);
	gb_arena_free(a);
}
END_TEST

START_TEST(test_allow_many_methods)
{
	/* Allow lists each method once, in table order, GET followed by HEAD */
	static const struct gb_route r[] = {
		{ "POST", "/x", h_root, GB_PUBLIC, 0, NULL },
		{ "GET", "/x", h_root, GB_PUBLIC, 0, NULL },
		{ "GET", "/{any}", h_root, GB_PUBLIC, 0, NULL },
		{ "POST", "/{any}", h_root, GB_PUBLIC, 0, NULL },
		{ "OPTIONS", "/x", h_root, GB_PUBLIC, 0, NULL },
		{ "POSTX", "/x", h_root, GB_PUBLIC, 0, NULL },
	};
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;

	ck_assert_int_eq(gb_route_match(r, NELEM(r), "DELETE", "/x", a, &m), GB_EMETHOD);
	ck_assert_str_eq(m.allow, "POST, GET, HEAD, OPTIONS, POSTX");
	ck_assert_int_eq(gb_route_match(r, NELEM(r), "DELETE", "/y", a, &m), GB_EMETHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
	gb_arena_free(a);
}
END_TEST

START_TEST(test_nine_params_alone)
{
	/* a pattern with more placeholders than GB_ROUTE_PARAMS_MAX never
	 * matches rather than overflowing m->params */
	static const struct gb_route r[] = {
		{ "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}", h_nine, GB_PUBLIC, 0, NULL },
	};
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;

	ck_assert_int_eq(gb_route_match(r, 1, "GET", "/1/2/3/4/5/6/7/8/9/10", a, &m),
	                 GB_ENOTFOUND);
	gb_arena_free(a);
}
END_TEST

START_TEST(test_rest_and_any_method)
{
	/* {*rest} takes the remainder, slashes included, possibly empty; "*"
	 * answers every method; literal routes listed first still win */
	static const struct gb_route r[] = {
		{ "GET", "/p/exact", h_root, GB_PUBLIC, 0, NULL },
		{ "*", "/p{*rest}", h_nine, GB_PUBLIC, 0, NULL },
		{ "GET", "/q/{id}{*tail}", h_root, GB_PUBLIC, 0, NULL },
		{ "GET", "/bad/{*rest}/x", h_root, GB_PUBLIC, 0, NULL },
	};
	static const struct {
		const char *method, *path, *rest;
		int route;
	} t[] = {
		{ "GET", "/p/exact", NULL, 0 },
		{ "POST", "/p/exact", "/exact", 1 },
		{ "DELETE", "/p", "", 1 },
		{ "PATCH", "/p/", "/", 1 },
		{ "PUT", "/p/a/b/c", "/a/b/c", 1 },
		{ "BREW", "/px", "x", 1 },
	};
	struct gb_arena *a = gb_arena_new(1024);
	struct gb_route_match m;
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_int_eq(gb_route_match(r, NELEM(r), t[i].method, t[i].path, a, &m), GB_OK);
		ck_assert_ptr_eq(m.route, &r[t[i].route]);
		if (t[i].rest != NULL)
			ck_assert_str_eq(gb_route_param(&m, "rest"), t[i].rest);
	}
	ck_assert_int_eq(gb_route_match(r, NELEM(r), "GET", "/q/7/z/y", a, &m), GB_OK);
	ck_assert_str_eq(gb_route_param(&m, "id"), "7");
	ck_assert_str_eq(gb_route_param(&m, "tail"), "/z/y");
	/* {*name} anywhere but last never matches */
	ck_assert_int_eq(gb_route_match(r, NELEM(r), "GET", "/bad/a/x", a, &m), GB_ENOTFOUND);
	ck_assert_int_eq(gb_route_match(r, NELEM(r), "GET", "/other", a, &m), GB_ENOTFOUND);
	gb_arena_free(a);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("gb_router");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_match, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_params_all);
	tcase_add_test(tc, test_params_from_raw_path);
	tcase_add_test(tc, test_empty_table);
	tcase_add_test(tc, test_allow_many_methods);
	tcase_add_test(tc, test_nine_params_alone);
	tcase_add_test(tc, test_rest_and_any_method);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(router_suite)
