/* Tests for lib/gb_cors.c: the origin allow-list and CORS decisions. */
#include "config.h"

#include "gb_cors.h"
#include "gb_test.h"

#define APP "https://app.example.com"
#define LOCAL "http://localhost:3000"
#define ALLOW "Authorization, Content-Type, X-Request-Id, Idempotency-Key, If-Match"
#define EXPOSE "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"

/* The configurations the decision cases run against. */
enum { C_LIST, C_ANY, C_OFF, C_BARE, C_NULL, C_COUNT };

static const struct gb_cors_opts configs[C_COUNT] = {
	[C_LIST] = { APP ", " LOCAL, true, 600, ALLOW, EXPOSE },
	[C_ANY] = { "*", false, 0, "Content-Type", NULL },
	[C_OFF] = { "", false, 600, ALLOW, EXPOSE },
	[C_BARE] = { APP, false, 5, NULL, "" },
	[C_NULL] = { NULL, false, 0, NULL, NULL },
};

/* ---- gb_cors_new ------------------------------------------------------ */

static const struct {
	const char *origins;
	bool credentials;
	long max_age;
	const char *allow;
	const char *expose;
	enum gb_err err;
	const char *why;        /* on error, exactly */
} new_cases[] = {
	{ NULL, false, 0, NULL, NULL, GB_OK, NULL },
	{ "", true, 0, NULL, NULL, GB_OK, NULL },
	{ " , ", true, 0, NULL, NULL, GB_OK, NULL },
	{ "*", false, 0, NULL, NULL, GB_OK, NULL },
	{ " * ", false, 0, NULL, NULL, GB_OK, NULL },
	{ APP, true, 86400, ALLOW, EXPOSE, GB_OK, NULL },
	{ APP ", " LOCAL, true, 0, ALLOW, EXPOSE, GB_OK, NULL },
	{ APP "," LOCAL "\thttp://127.0.0.1:8080 ", false, 0, NULL, NULL, GB_OK, NULL },
	{ "http://[::1]:8080 https://[2001:db8::1]", false, 0, NULL, NULL, GB_OK, NULL },
	{ "https://xn--bcher-kva.example", false, 0, NULL, NULL, GB_OK, NULL },
	{ "https://a-b_c.example:65535", false, 0, NULL, NULL, GB_OK, NULL },
	{ "https://a.example:80 http://a.example:443", false, 0, NULL, NULL, GB_OK, NULL },
	{ "http://localhost", false, 0, "x-a,X-B  x-c", "X-D", GB_OK, NULL },
	{ APP, false, 0, "!#$%&'*+-.^_`|~", NULL, GB_OK, NULL },
	/* credentials never with "*" */
	{ "*", true, 0, NULL, NULL, GB_EINVAL,
	  "credentials: not with origins \"*\", which would let any site act as the user; "
	  "list the origins" },
	/* origins */
	{ "*, " APP, false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"*\": \"*\" must be the only entry" },
	{ APP " *", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 2 \"*\": \"*\" must be the only entry" },
	{ "null", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"null\": \"null\" is never allowed: every sandboxed frame and "
	  "file: page sends it" },
	{ APP "/", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"" APP "/\": no path, not even a trailing slash" },
	{ APP "/app", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"" APP "/app\": no path, not even a trailing slash" },
	{ "https://a.example:8443/", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a.example:8443/\": no path, not even a trailing slash" },
	{ "https://App.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://App.example.com\": write the host in lowercase, as "
	  "browsers send it" },
	{ "HTTPS://app.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"HTTPS://app.example.com\": write the scheme in lowercase, as "
	  "browsers send it" },
	{ "Http://a", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"Http://a\": write the scheme in lowercase, as browsers send it" },
	{ "ftp://a.example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"ftp://a.example\": not http:// or https:// and a host" },
	{ "app.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"app.example.com\": not http:// or https:// and a host" },
	{ "//app.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"//app.example.com\": not http:// or https:// and a host" },
	{ "https:app.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https:app.example.com\": not http:// or https:// and a host" },
	{ "https://", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://\": no host" },
	{ "https://:8080", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://:8080\": no host" },
	{ "https://a.example:443", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a.example:443\": drop the scheme's default port: "
	  "browsers never send it" },
	{ "http://a.example:80", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a.example:80\": drop the scheme's default port: "
	  "browsers never send it" },
	{ "http://a:0", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:0\": bad port" },
	{ "http://a:65536", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:65536\": bad port" },
	{ "http://a:", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:\": bad port" },
	{ "http://a:08080", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:08080\": bad port" },
	{ "http://a:1234567", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:1234567\": bad port" },
	{ "http://a:8080x", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:8080x\": bad character" },
	{ "http://a:-1", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"http://a:-1\": bad port" },
	{ "https://user@a.example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://user@a.example\": no user name" },
	{ "https://a.example?x=1", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a.example?x=1\": no query or fragment" },
	{ "https://a.example#f", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a.example#f\": no query or fragment" },
	{ "https://a..example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a..example\": empty label in the host name" },
	{ "https://.a.example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://.a.example\": empty label in the host name" },
	{ "https://a.example.", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a.example.\": empty label in the host name" },
	{ "https://a*.example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a*.example\": bad character" },
	{ "https://*.example.com", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://*.example.com\": no host" },
	{ "https://a\x01" "b", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://a?b\": bad character" },
	{ "https://\xc3\xa9.example", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://??.example\": no host" },
	{ "https://[::1", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[::1\": bad IPv6 address" },
	{ "https://[]", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[]\": bad IPv6 address" },
	{ "https://[::g]", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[::g]\": bad IPv6 address" },
	{ "https://[::A]", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[::A]\": write the host in lowercase, as browsers send it" },
	{ "https://[1.2.3.4]", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[1.2.3.4]\": bad IPv6 address" },
	{ "https://[::1]x", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 1 \"https://[::1]x\": bad character" },
	{ APP ", https://b.example/", false, 0, NULL, NULL, GB_EINVAL,
	  "origins entry 2 \"https://b.example/\": no path, not even a trailing slash" },
	/* max age */
	{ APP, false, -1, NULL, NULL, GB_EINVAL, "max_age_s: -1 is not 0 to 86400 seconds" },
	{ APP, false, 86401, NULL, NULL, GB_EINVAL,
	  "max_age_s: 86401 is not 0 to 86400 seconds" },
	/* header lists */
	{ APP, false, 0, "*", NULL, GB_EINVAL,
	  "allow_headers entry 1 \"*\": \"*\" is not supported: name the headers" },
	{ APP, false, 0, "X-A, X(B)", NULL, GB_EINVAL,
	  "allow_headers entry 2 \"X(B)\": not a header name" },
	{ APP, false, 0, "X-A;X-B", NULL, GB_EINVAL,
	  "allow_headers entry 1 \"X-A;X-B\": not a header name" },
	{ APP, false, 0, NULL, "X-A:", GB_EINVAL,
	  "expose_headers entry 1 \"X-A:\": not a header name" },
	{ APP, false, 0, NULL, "X-A\r\nSet-Cookie:", GB_EINVAL,
	  "expose_headers entry 1 \"X-A??Set-Cookie:\": not a header name" },
	{ APP, false, 0, NULL, "*", GB_EINVAL,
	  "expose_headers entry 1 \"*\": \"*\" is not supported: name the headers" },
};

START_TEST(test_new)
{
	struct gb_cors_opts o = {
		new_cases[_i].origins, new_cases[_i].credentials, new_cases[_i].max_age,
		new_cases[_i].allow, new_cases[_i].expose
	};
	struct gb_cors *sentinel = (struct gb_cors *)&sentinel, *c = sentinel;
	char why[256] = "";
	enum gb_err e;

	e = gb_cors_new(&o, &c, why, sizeof(why));
	ck_assert_msg(e == new_cases[_i].err, "\"%s\": got %d (%s), want %d",
	              new_cases[_i].origins, e, why, new_cases[_i].err);
	if (e == GB_OK) {
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_ne(c, sentinel);
		gb_cors_free(c);
	} else {
		ck_assert_ptr_eq(c, sentinel);
		ck_assert_str_eq(why, new_cases[_i].why);
	}
}
END_TEST

START_TEST(test_new_args)
{
	struct gb_cors_opts o = { "null", false, 0, NULL, NULL };
	struct gb_cors *c = NULL;
	char why[16];

	ck_assert_int_eq(gb_cors_new(NULL, &c, NULL, 0), GB_EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(gb_cors_new(&o, &c, NULL, 0), GB_EINVAL);
	ck_assert_ptr_null(c);
	memset(why, 'X', sizeof(why));
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert_str_eq(why, "origins entry 1");
	gb_cors_free(NULL);
	ck_assert(!gb_cors_enabled(NULL));
	o.origins = "";
	ck_assert_int_eq(gb_cors_new(&o, &c, NULL, 0), GB_OK);
	ck_assert(!gb_cors_enabled(c));
	gb_cors_free(c);
	o.origins = "*";
	ck_assert_int_eq(gb_cors_new(&o, &c, NULL, 0), GB_OK);
	ck_assert(gb_cors_enabled(c));
	gb_cors_free(c);
}
END_TEST

/* "https://" + label.label... of n bytes in all. */
static char *
long_origin(size_t n)
{
	char *s = t_repeat('a', n);
	size_t i;

	memcpy(s, "https://", 8);
	for (i = 8 + 60; i < n - 1; i += 61)
		s[i] = '.';
	return s;
}

START_TEST(test_new_limits)
{
	struct gb_cors_opts o = { NULL, false, 0, NULL, NULL };
	struct gb_cors *c = NULL;
	struct gb_cors_result r;
	char why[256], *s, *list;
	size_t i, len, size;

	/* an origin of exactly GB_CORS_ORIGIN_MAX bytes */
	s = long_origin(GB_CORS_ORIGIN_MAX);
	o.origins = s;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_OK);
	gb_cors_check(c, "GET", s, NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.kind, GB_CORS_ALLOWED);
	ck_assert_str_eq(r.h[0].value, s);
	gb_cors_free(c);
	free(s);
	s = long_origin(GB_CORS_ORIGIN_MAX + 1);
	o.origins = s;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert(strstr(why, "\": longer than 512 bytes") != NULL);
	free(s);

	/* a label of 63, and of 64 */
	s = t_repeat('b', 8 + 64);
	memcpy(s, "https://", 8);
	s[8 + 63] = '\0';
	o.origins = s;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_OK);
	gb_cors_free(c);
	s[8 + 63] = 'b';
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert(strstr(why, "\": host name label longer than 63") != NULL);
	free(s);

	/* GB_CORS_ORIGINS_MAX origins, and one more */
	size = (GB_CORS_ORIGINS_MAX + 1) * 32;
	list = malloc(size);
	ck_assert_ptr_nonnull(list);
	for (i = 0, len = 0; i < GB_CORS_ORIGINS_MAX; i++)
		len += (size_t)snprintf(list + len, size - len, "https://o%zu.example ", i);
	o.origins = list;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_OK);
	gb_cors_check(c, "GET", "https://o63.example", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.kind, GB_CORS_ALLOWED);
	gb_cors_free(c);
	snprintf(list + len, size - len, "https://o%zu.example", i);
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert_str_eq(why, "origins entry 65 \"https://o64.example\": more than 64 origins");
	free(list);

	/* header names: GB_CORS_NAMES_MAX, one more, a long one */
	o.origins = APP;
	size = (GB_CORS_NAMES_MAX + 1) * 16;
	list = malloc(size);
	ck_assert_ptr_nonnull(list);
	for (i = 0, len = 0; i < GB_CORS_NAMES_MAX; i++)
		len += (size_t)snprintf(list + len, size - len, "X-H%zu,", i);
	o.allow_headers = list;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_OK);
	gb_cors_check(c, "OPTIONS", APP, "GET", "x-h63, X-H0", "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_PREFLIGHT_OK);
	gb_cors_free(c);
	snprintf(list + len, size - len, "X-H%zu", i);
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert_str_eq(why, "allow_headers entry 65 \"X-H64\": more than 64 names");
	free(list);
	s = t_repeat('X', GB_CORS_NAME_MAX);
	o.allow_headers = s;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_OK);
	gb_cors_free(c);
	free(s);
	s = t_repeat('X', GB_CORS_NAME_MAX + 1);
	o.allow_headers = NULL;
	o.expose_headers = s;
	ck_assert_int_eq(gb_cors_new(&o, &c, why, sizeof(why)), GB_EINVAL);
	ck_assert(strstr(why, "expose_headers entry 1 \"XXXX") == why);
	ck_assert(strstr(why, "...\": longer than 128 bytes") != NULL);
	free(s);
}
END_TEST

/* ---- gb_cors_check ---------------------------------------------------- */

#define VARY "Vary: Origin\n"
#define ACAO(o) "Access-Control-Allow-Origin: " o "\n"
#define ACAC "Access-Control-Allow-Credentials: true\n"
#define ACAM(m) "Access-Control-Allow-Methods: " m "\n"
#define ACAH(h) "Access-Control-Allow-Headers: " h "\n"
#define ACMA(s) "Access-Control-Max-Age: " s "\n"
#define ACEH(h) "Access-Control-Expose-Headers: " h "\n"

#define LIST_ACTUAL(o) ACAO(o) VARY ACEH(EXPOSE) ACAC
#define LIST_PREFLIGHT(o, m) ACAO(o) VARY ACAM(m) ACAH(ALLOW) ACMA("600") ACAC

static const struct {
	int config;
	const char *method;
	const char *origin;
	const char *acrm;
	const char *acrh;
	const char *allow;      /* allow_methods */
	enum gb_cors_kind kind;
	const char *headers;    /* "Name: value\n" each, in order */
} check_cases[] = {
	/* not CORS */
	{ C_LIST, "GET", NULL, NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "OPTIONS", NULL, "GET", NULL, "GET", GB_CORS_NONE, VARY },
	/* allowed actual requests */
	{ C_LIST, "GET", APP, NULL, NULL, "GET", GB_CORS_ALLOWED, LIST_ACTUAL(APP) },
	{ C_LIST, "POST", LOCAL, NULL, NULL, "GET", GB_CORS_ALLOWED, LIST_ACTUAL(LOCAL) },
	{ C_LIST, "DELETE", APP, NULL, NULL, NULL, GB_CORS_ALLOWED, LIST_ACTUAL(APP) },
	{ C_LIST, NULL, APP, NULL, NULL, NULL, GB_CORS_ALLOWED, LIST_ACTUAL(APP) },
	/* OPTIONS without Access-Control-Request-Method is an actual request */
	{ C_LIST, "OPTIONS", APP, NULL, "x-evil", NULL, GB_CORS_ALLOWED, LIST_ACTUAL(APP) },
	/* method names are case-sensitive: "options" is no preflight */
	{ C_LIST, "options", APP, "GET", NULL, NULL, GB_CORS_ALLOWED, LIST_ACTUAL(APP) },
	/* foreign origins: never echoed, Vary only */
	{ C_LIST, "GET", "https://evil.example", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP "/", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP ":443", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "https://APP.example.com", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "HTTPS://app.example.com", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "http://app.example.com", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP ".evil.example", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "https://evil.example/" APP, NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "https://app.example.co", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "https://xapp.example.com", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", " " APP, NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP " ", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP ", " LOCAL, NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", APP "\r\nSet-Cookie: a=b", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "null", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_LIST, "GET", "*", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	/* preflights */
	{ C_LIST, "OPTIONS", APP, "PUT", "content-type,authorization", "GET, PUT",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(APP, "GET, PUT") },
	{ C_LIST, "OPTIONS", LOCAL, "GET", NULL, "GET, HEAD",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(LOCAL, "GET, HEAD") },
	{ C_LIST, "OPTIONS", APP, "GET", "", "GET",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(APP, "GET") },
	{ C_LIST, "OPTIONS", APP, "GET", "X-REQUEST-ID,IDEMPOTENCY-key , if-match", "GET",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(APP, "GET") },
	{ C_LIST, "OPTIONS", APP, "GET", "content-type,,authorization,", "GET",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(APP, "GET") },
	{ C_LIST, "OPTIONS", APP, "POST", NULL, "GET,HEAD,POST",
	  GB_CORS_PREFLIGHT_OK, LIST_PREFLIGHT(APP, "GET,HEAD,POST") },
	/* refused preflights */
	{ C_LIST, "OPTIONS", APP, "DELETE", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "put", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "PU", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "PUTS", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET, PUT", NULL, "GET, PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", NULL, NULL, GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", NULL, "", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", NULL, "GET\r\nX-Injected: 1", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", NULL, "GET;PUT", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "x-evil", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "content-type, x-evil", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "authorizatio", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "authorizationx", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "content-type;", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "content-type\r\n", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", APP, "GET", "*", "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", "https://evil.example", "GET", NULL, "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", "null", "GET", NULL, "GET", GB_CORS_REFUSED, VARY },
	{ C_LIST, "OPTIONS", "", "GET", NULL, "GET", GB_CORS_REFUSED, VARY },
	/* "*": any origin but "null", never echoed, no credentials */
	{ C_ANY, "GET", "https://whatever.example", NULL, NULL, "GET", GB_CORS_ALLOWED,
	  ACAO("*") VARY },
	{ C_ANY, "GET", "http://evil\r\nSet-Cookie: a=b", NULL, NULL, "GET", GB_CORS_ALLOWED,
	  ACAO("*") VARY },
	{ C_ANY, "GET", "null", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_ANY, "GET", "", NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_ANY, "GET", NULL, NULL, NULL, "GET", GB_CORS_NONE, VARY },
	{ C_ANY, "OPTIONS", "https://whatever.example", "POST", "content-type", "POST",
	  GB_CORS_PREFLIGHT_OK, ACAO("*") VARY ACAM("POST") ACAH("Content-Type") ACMA("0") },
	{ C_ANY, "OPTIONS", "https://whatever.example", "POST", "authorization", "POST",
	  GB_CORS_REFUSED, VARY },
	{ C_ANY, "OPTIONS", "null", "POST", NULL, "POST", GB_CORS_REFUSED, VARY },
	/* CORS off: nothing at all */
	{ C_OFF, "GET", APP, NULL, NULL, "GET", GB_CORS_NONE, "" },
	{ C_OFF, "GET", NULL, NULL, NULL, "GET", GB_CORS_NONE, "" },
	{ C_OFF, "OPTIONS", APP, "GET", NULL, "GET", GB_CORS_NONE, "" },
	{ C_NULL, "OPTIONS", APP, "GET", NULL, "GET", GB_CORS_NONE, "" },
	/* no credentials, no header lists */
	{ C_BARE, "GET", APP, NULL, NULL, "GET", GB_CORS_ALLOWED, ACAO(APP) VARY },
	{ C_BARE, "OPTIONS", APP, "GET", NULL, "GET", GB_CORS_PREFLIGHT_OK,
	  ACAO(APP) VARY ACAM("GET") ACMA("5") },
	{ C_BARE, "OPTIONS", APP, "GET", "", "GET", GB_CORS_PREFLIGHT_OK,
	  ACAO(APP) VARY ACAM("GET") ACMA("5") },
	{ C_BARE, "OPTIONS", APP, "GET", "content-type", "GET", GB_CORS_REFUSED, VARY },
	{ C_BARE, "GET", LOCAL, NULL, NULL, "GET", GB_CORS_NONE, VARY },
};

static struct gb_cors *cors[C_COUNT];

static void
setup(void)
{
	char why[256] = "";
	size_t i;

	for (i = 0; i < C_COUNT; i++)
		ck_assert_msg(gb_cors_new(&configs[i], &cors[i], why, sizeof(why)) == GB_OK,
		              "config %zu: %s", i, why);
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < C_COUNT; i++) {
		gb_cors_free(cors[i]);
		cors[i] = NULL;
	}
}

/* r's headers as "Name: value\n" lines. */
static void
flatten(const struct gb_cors_result *r, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	ck_assert_uint_le(r->n, GB_CORS_HEADERS_MAX);
	for (i = 0; i < r->n; i++) {
		ck_assert_ptr_nonnull(r->h[i].name);
		ck_assert_ptr_nonnull(r->h[i].value);
		len += (size_t)snprintf(buf + len, size - len, "%s: %s\n", r->h[i].name,
		                        r->h[i].value);
		ck_assert_uint_lt(len, size);
	}
}

START_TEST(test_check)
{
	struct gb_cors_result r;
	char got[1024];
	size_t i;

	memset(&r, 0x5a, sizeof(r));
	gb_cors_check(check_cases[_i].config == C_NULL ? NULL : cors[check_cases[_i].config],
	              check_cases[_i].method, check_cases[_i].origin, check_cases[_i].acrm,
	              check_cases[_i].acrh, check_cases[_i].allow, &r);
	flatten(&r, got, sizeof(got));
	ck_assert_msg(r.kind == check_cases[_i].kind, "origin \"%s\": kind %d, want %d",
	              check_cases[_i].origin, r.kind, check_cases[_i].kind);
	ck_assert_str_eq(got, check_cases[_i].headers);
	/* the request's Origin is never sent back: the configured copy is */
	for (i = 0; i < r.n; i++)
		ck_assert_ptr_ne(r.h[i].value, check_cases[_i].origin);
}
END_TEST

/* The same request with a NULL gb_cors and with CORS off. */
START_TEST(test_check_null)
{
	struct gb_cors_result r;

	gb_cors_check(NULL, "GET", APP, NULL, NULL, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_NONE);
	ck_assert_uint_eq(r.n, 0);
	ck_assert(gb_cors_enabled(cors[C_LIST]));
	ck_assert(!gb_cors_enabled(cors[C_OFF]));
	ck_assert(!gb_cors_enabled(cors[C_NULL]));
}
END_TEST

/* A result outlives the origin string and may be copied. */
START_TEST(test_check_lifetime)
{
	struct gb_cors_result r, copy;
	char *origin = strdup(APP), *methods = strdup("GET, POST");

	ck_assert_ptr_nonnull(origin);
	ck_assert_ptr_nonnull(methods);
	gb_cors_check(cors[C_LIST], "OPTIONS", origin, "POST", "content-type", methods, &r);
	memset(origin, 'X', strlen(origin));
	free(origin);
	copy = r;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(copy.kind, GB_CORS_PREFLIGHT_OK);
	ck_assert_str_eq(copy.h[0].name, "Access-Control-Allow-Origin");
	ck_assert_str_eq(copy.h[0].value, APP);
	ck_assert_ptr_eq(copy.h[2].value, methods);  /* as documented */
	free(methods);
}
END_TEST

START_TEST(test_check_acrh_limits)
{
	struct gb_cors_result r;
	char *acrh;
	size_t i, len, size;

	/* GB_CORS_ACRH_NAMES_MAX names, and one more */
	size = (GB_CORS_ACRH_NAMES_MAX + 1) * 16;
	acrh = malloc(size);
	ck_assert_ptr_nonnull(acrh);
	for (i = 0, len = 0; i < GB_CORS_ACRH_NAMES_MAX; i++)
		len += (size_t)snprintf(acrh + len, size - len, "%sif-match", i ? "," : "");
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", acrh, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_PREFLIGHT_OK);
	snprintf(acrh + len, size - len, ",if-match");
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", acrh, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_REFUSED);
	ck_assert_uint_eq(r.n, 1);
	free(acrh);

	/* GB_CORS_ACRH_MAX bytes (spaces around one name), and one more */
	acrh = t_repeat(' ', GB_CORS_ACRH_MAX);
	memcpy(acrh + 100, "content-type", 12);
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", acrh, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_PREFLIGHT_OK);
	free(acrh);
	acrh = t_repeat(' ', GB_CORS_ACRH_MAX + 1);
	memcpy(acrh + 100, "content-type", 12);
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", acrh, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_REFUSED);
	free(acrh);
}
END_TEST

START_TEST(test_check_long_inputs)
{
	struct gb_cors_result r;
	char *s;

	/* allow_methods of GB_CORS_METHODS_MAX bytes, and one more */
	s = t_repeat(' ', GB_CORS_METHODS_MAX);
	memcpy(s, "GET", 3);
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", NULL, s, &r);
	ck_assert_int_eq(r.kind, GB_CORS_PREFLIGHT_OK);
	free(s);
	s = t_repeat(' ', GB_CORS_METHODS_MAX + 1);
	memcpy(s, "GET", 3);
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, "GET", NULL, s, &r);
	ck_assert_int_eq(r.kind, GB_CORS_REFUSED);
	free(s);
	/* a huge Origin is foreign, also for "*" */
	s = t_repeat('a', 1 << 20);
	memcpy(s, APP, strlen(APP));
	gb_cors_check(cors[C_LIST], "GET", s, NULL, NULL, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_NONE);
	gb_cors_check(cors[C_ANY], "GET", s, NULL, NULL, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_NONE);
	s[GB_CORS_ORIGIN_MAX] = '\0';
	gb_cors_check(cors[C_ANY], "GET", s, NULL, NULL, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_ALLOWED);
	free(s);
	/* a huge method name */
	s = t_repeat('G', 1 << 20);
	gb_cors_check(cors[C_LIST], "OPTIONS", APP, s, NULL, "GET", &r);
	ck_assert_int_eq(r.kind, GB_CORS_REFUSED);
	free(s);
}
END_TEST

static Suite *
cors_suite(void)
{
	Suite *s = suite_create("gb_cors");
	TCase *tn = tcase_create("new");
	TCase *tc = tcase_create("check");

	tcase_add_loop_test(tn, test_new, 0, (int)NELEM(new_cases));
	tcase_add_test(tn, test_new_args);
	tcase_add_test(tn, test_new_limits);
	suite_add_tcase(s, tn);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_check, 0, (int)NELEM(check_cases));
	tcase_add_test(tc, test_check_null);
	tcase_add_test(tc, test_check_lifetime);
	tcase_add_test(tc, test_check_acrh_limits);
	tcase_add_test(tc, test_check_long_inputs);
	suite_add_tcase(s, tc);
	return s;
}

GB_TEST_MAIN(cors_suite)
