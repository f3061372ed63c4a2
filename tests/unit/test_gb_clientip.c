/* Tests for lib/gb_clientip.c: CIDR lists and the client address behind
 * trusted proxies. */
#include "config.h"

#include "gb_clientip.h"
#include "gb_test.h"

/* ---- gb_cidr_list_parse ----------------------------------------------- */

static const struct {
	const char *spec;
	enum gb_err err;
	size_t count;           /* on GB_OK */
	const char *why;        /* on error, exactly */
} parse_cases[] = {
	{ "", GB_OK, 0, NULL },
	{ " ", GB_OK, 0, NULL },
	{ " ,\t, ,", GB_OK, 0, NULL },
	{ "10.0.0.0/8", GB_OK, 1, NULL },
	{ "10.0.0.0/8, 127.0.0.1 ::1 fd00::/8", GB_OK, 4, NULL },
	{ "10.0.0.0/8,,,192.168.0.0/16,", GB_OK, 2, NULL },
	{ "10.0.0.0/8\t172.16.0.0/12\t", GB_OK, 2, NULL },
	{ "  127.0.0.1  ", GB_OK, 1, NULL },
	{ "0.0.0.0/0", GB_OK, 1, NULL },
	{ "::/0", GB_OK, 1, NULL },
	{ "0.0.0.0/0 ::/0", GB_OK, 2, NULL },
	{ "1.2.3.4/32", GB_OK, 1, NULL },
	{ "1.2.3.4/31", GB_OK, 1, NULL },
	{ "128.0.0.0/1", GB_OK, 1, NULL },
	{ "255.255.255.255", GB_OK, 1, NULL },
	{ "2001:db8::/32", GB_OK, 1, NULL },
	{ "2001:DB8::/32", GB_OK, 1, NULL },
	{ "2001:db8::1/128", GB_OK, 1, NULL },
	{ "fe80::/10", GB_OK, 1, NULL },
	{ "::ffff:10.0.0.0/104", GB_OK, 1, NULL },
	{ "::ffff:0:0/96", GB_OK, 1, NULL },
	{ "::ffff:1.2.3.4", GB_OK, 1, NULL },
	{ "1.2.3.4 1.2.3.4", GB_OK, 2, NULL },          /* duplicates are harmless */
	{ "10.0.0.1/8", GB_EINVAL, 0,
	  "entry 1 \"10.0.0.1/8\": address bits set after the prefix length "
	  "(did you mean 10.0.0.0/8?)" },
	{ "127.0.0.1, 192.168.1.1/24", GB_EINVAL, 0,
	  "entry 2 \"192.168.1.1/24\": address bits set after the prefix length "
	  "(did you mean 192.168.1.0/24?)" },
	{ "1.2.3.4/0", GB_EINVAL, 0,
	  "entry 1 \"1.2.3.4/0\": address bits set after the prefix length "
	  "(did you mean 0.0.0.0/0?)" },
	{ "1.2.3.5/31", GB_EINVAL, 0,
	  "entry 1 \"1.2.3.5/31\": address bits set after the prefix length "
	  "(did you mean 1.2.3.4/31?)" },
	{ "2001:db8::1/32", GB_EINVAL, 0,
	  "entry 1 \"2001:db8::1/32\": address bits set after the prefix length "
	  "(did you mean 2001:db8::/32?)" },
	{ "fe80::1/10", GB_EINVAL, 0,
	  "entry 1 \"fe80::1/10\": address bits set after the prefix length "
	  "(did you mean fe80::/10?)" },
	{ "::ffff:10.0.0.1/104", GB_EINVAL, 0,
	  "entry 1 \"::ffff:10.0.0.1/104\": address bits set after the prefix length "
	  "(did you mean 10.0.0.0/8?)" },
	{ "::ffff:10.0.0.0/64", GB_EINVAL, 0,
	  "entry 1 \"::ffff:10.0.0.0/64\": address bits set after the prefix length "
	  "(did you mean ::/64?)" },
	{ "10.0.0.0/33", GB_EINVAL, 0, "entry 1 \"10.0.0.0/33\": prefix length above 32" },
	{ "::/129", GB_EINVAL, 0, "entry 1 \"::/129\": prefix length above 128" },
	{ "10.0.0.0/", GB_EINVAL, 0, "entry 1 \"10.0.0.0/\": bad prefix length" },
	{ "10.0.0.0/08", GB_EINVAL, 0, "entry 1 \"10.0.0.0/08\": bad prefix length" },
	{ "10.0.0.0/-8", GB_EINVAL, 0, "entry 1 \"10.0.0.0/-8\": bad prefix length" },
	{ "10.0.0.0/+8", GB_EINVAL, 0, "entry 1 \"10.0.0.0/+8\": bad prefix length" },
	{ "10.0.0.0/8/8", GB_EINVAL, 0, "entry 1 \"10.0.0.0/8/8\": bad prefix length" },
	{ "10.0.0.0/0008", GB_EINVAL, 0, "entry 1 \"10.0.0.0/0008\": bad prefix length" },
	{ "10.0.0.0/8x", GB_EINVAL, 0, "entry 1 \"10.0.0.0/8x\": bad prefix length" },
	{ "/8", GB_EINVAL, 0, "entry 1 \"/8\": not an IPv4 or IPv6 address" },
	{ "10.0.0", GB_EINVAL, 0, "entry 1 \"10.0.0\": not an IPv4 or IPv6 address" },
	{ "10.0.0.256", GB_EINVAL, 0, "entry 1 \"10.0.0.256\": not an IPv4 or IPv6 address" },
	{ "010.0.0.1", GB_EINVAL, 0, "entry 1 \"010.0.0.1\": not an IPv4 or IPv6 address" },
	{ "0x0a.0.0.1", GB_EINVAL, 0, "entry 1 \"0x0a.0.0.1\": not an IPv4 or IPv6 address" },
	{ "1.2.3.4:80", GB_EINVAL, 0, "entry 1 \"1.2.3.4:80\": not an IPv4 or IPv6 address" },
	{ "[::1]", GB_EINVAL, 0, "entry 1 \"[::1]\": not an IPv4 or IPv6 address" },
	{ "fe80::1%eth0", GB_EINVAL, 0, "entry 1 \"fe80::1%eth0\": not an IPv4 or IPv6 address" },
	{ "::1::2", GB_EINVAL, 0, "entry 1 \"::1::2\": not an IPv4 or IPv6 address" },
	{ "12345::", GB_EINVAL, 0, "entry 1 \"12345::\": not an IPv4 or IPv6 address" },
	{ "unknown", GB_EINVAL, 0, "entry 1 \"unknown\": not an IPv4 or IPv6 address" },
	{ "localhost", GB_EINVAL, 0, "entry 1 \"localhost\": not an IPv4 or IPv6 address" },
	{ "*", GB_EINVAL, 0, "entry 1 \"*\": not an IPv4 or IPv6 address" },
	{ "10.0.0.0/8;192.168.0.0/16", GB_EINVAL, 0,
	  "entry 1 \"10.0.0.0/8;192.168.0.0/16\": bad prefix length" },
	{ "127.0.0.1 trusted", GB_EINVAL, 0,
	  "entry 2 \"trusted\": not an IPv4 or IPv6 address" },
	{ "1.2.3.4\n5.6.7.8", GB_EINVAL, 0,
	  "entry 1 \"1.2.3.4?5.6.7.8\": not an IPv4 or IPv6 address" },
	{ "\x01\xff", GB_EINVAL, 0, "entry 1 \"??\": not an IPv4 or IPv6 address" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", GB_OK, 1, NULL },  /* longest */
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/0128", GB_EINVAL, 0,
	  "entry 1 \"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/01...\": "
	  "too long for an address" },
	{ "0000:0000:0000:0000:0000:0000:0000:0000:0000/0", GB_EINVAL, 0,
	  "entry 1 \"0000:0000:0000:0000:0000:0000:0000:0000:0000/0\": "
	  "not an IPv4 or IPv6 address" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", GB_EINVAL, 0,
	  "entry 1 \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
	  "too long for an address" },
};

START_TEST(test_parse)
{
	struct gb_cidr_list *sentinel = (struct gb_cidr_list *)&sentinel, *l = sentinel;
	char why[256] = "";
	enum gb_err e;

	e = gb_cidr_list_parse(parse_cases[_i].spec, &l, why, sizeof(why));
	ck_assert_msg(e == parse_cases[_i].err, "\"%s\": got %d (%s), want %d",
	              parse_cases[_i].spec, e, why, parse_cases[_i].err);
	if (e == GB_OK) {
		ck_assert_ptr_nonnull(l);
		ck_assert_ptr_ne(l, sentinel);
		ck_assert_uint_eq(gb_cidr_list_count(l), parse_cases[_i].count);
		gb_cidr_list_free(l);
	} else {
		ck_assert_ptr_eq(l, sentinel);
		ck_assert_str_eq(why, parse_cases[_i].why);
	}
}
END_TEST

START_TEST(test_parse_null)
{
	struct gb_cidr_list *l = NULL;

	ck_assert_int_eq(gb_cidr_list_parse(NULL, &l, NULL, 0), GB_OK);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(gb_cidr_list_count(l), 0);
	ck_assert(!gb_cidr_list_contains(l, "127.0.0.1"));
	gb_cidr_list_free(l);
	ck_assert_uint_eq(gb_cidr_list_count(NULL), 0);
	gb_cidr_list_free(NULL);
}
END_TEST

START_TEST(test_parse_why)
{
	struct gb_cidr_list *l = NULL;
	char why[12];

	/* no buffer */
	ck_assert_int_eq(gb_cidr_list_parse("10.0.0.1/8", &l, NULL, 0), GB_EINVAL);
	ck_assert_ptr_null(l);
	/* a short one is cut and terminated */
	memset(why, 'X', sizeof(why));
	ck_assert_int_eq(gb_cidr_list_parse("10.0.0.1/8", &l, why, sizeof(why)), GB_EINVAL);
	ck_assert_str_eq(why, "entry 1 \"10");
	ck_assert_int_eq(gb_cidr_list_parse("bad", &l, why, 0), GB_EINVAL);
	ck_assert_ptr_null(l);
}
END_TEST

/* n entries "10.i.j.0/24" separated by sep. */
static char *
many_entries(size_t n, const char *sep)
{
	char *s = malloc(n * 24 + 1);
	size_t i, len = 0;

	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, 24, "%s10.%zu.%zu.0/24", i ? sep : "",
		                        i / 256, i % 256);
	return s;
}

START_TEST(test_parse_max)
{
	struct gb_cidr_list *l = NULL;
	char why[128], *spec;

	spec = many_entries(GB_CIDR_MAX, ", ");
	ck_assert_int_eq(gb_cidr_list_parse(spec, &l, why, sizeof(why)), GB_OK);
	ck_assert_uint_eq(gb_cidr_list_count(l), GB_CIDR_MAX);
	ck_assert(gb_cidr_list_contains(l, "10.0.0.1"));
	ck_assert(gb_cidr_list_contains(l, "10.0.255.1"));
	ck_assert(!gb_cidr_list_contains(l, "10.1.0.1"));
	gb_cidr_list_free(l);
	free(spec);

	l = NULL;
	spec = many_entries(GB_CIDR_MAX + 1, " ");
	ck_assert_int_eq(gb_cidr_list_parse(spec, &l, why, sizeof(why)), GB_EINVAL);
	ck_assert_ptr_null(l);
	ck_assert_str_eq(why, "more than 256 entries");
	free(spec);

	/* separators do not count; a bad entry after the limit is still the limit */
	spec = many_entries(GB_CIDR_MAX, ",,  ,");
	ck_assert_int_eq(gb_cidr_list_parse(spec, &l, why, sizeof(why)), GB_OK);
	ck_assert_uint_eq(gb_cidr_list_count(l), GB_CIDR_MAX);
	gb_cidr_list_free(l);
	free(spec);
}
END_TEST

/* ---- gb_cidr_list_contains -------------------------------------------- */

#define LIST "10.0.0.0/8 192.168.1.0/24, 172.16.0.0/12 203.0.113.7 2001:db8::/32 ::1 fe80::/10"

static const struct {
	const char *list;
	const char *addr;
	bool in;
} contains_cases[] = {
	{ LIST, "10.0.0.0", true },
	{ LIST, "10.255.255.255", true },
	{ LIST, "10.1.2.3", true },
	{ LIST, "11.0.0.0", false },
	{ LIST, "9.255.255.255", false },
	{ LIST, "192.168.1.0", true },
	{ LIST, "192.168.1.255", true },
	{ LIST, "192.168.2.0", false },
	{ LIST, "192.168.0.255", false },
	{ LIST, "172.16.0.0", true },
	{ LIST, "172.31.255.255", true },
	{ LIST, "172.32.0.0", false },
	{ LIST, "172.15.255.255", false },
	{ LIST, "203.0.113.7", true },
	{ LIST, "203.0.113.6", false },
	{ LIST, "203.0.113.8", false },
	{ LIST, "::ffff:10.1.2.3", true },          /* IPv4-mapped is IPv4 */
	{ LIST, "::FFFF:203.0.113.7", true },
	{ LIST, "::ffff:cb00:7107", true },         /* the same, in hex */
	{ LIST, "::ffff:11.0.0.1", false },
	{ LIST, "::10.1.2.3", false },              /* IPv4-compatible is IPv6 */
	{ LIST, "2001:db8::", true },
	{ LIST, "2001:db8::1", true },
	{ LIST, "2001:DB8::1", true },
	{ LIST, "2001:0db8:0000:0000:0000:0000:0000:0001", true },
	{ LIST, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ LIST, "2001:db9::", false },
	{ LIST, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ LIST, "::1", true },
	{ LIST, "0:0:0:0:0:0:0:1", true },
	{ LIST, "::2", false },
	{ LIST, "::", false },
	{ LIST, "fe80::1", true },
	{ LIST, "febf:ffff::", true },
	{ LIST, "fec0::", false },
	{ LIST, "127.0.0.1", false },
	/* malformed: never in */
	{ LIST, "", false },
	{ LIST, " 10.0.0.1", false },
	{ LIST, "10.0.0.1 ", false },
	{ LIST, "10.0.0.1/32", false },
	{ LIST, "10.0.0.0/8", false },
	{ LIST, "10.0.0.1:80", false },
	{ LIST, "[::1]", false },
	{ LIST, "::1%lo", false },
	{ LIST, "010.0.0.1", false },
	{ LIST, "10.0.0", false },
	{ LIST, "10", false },
	{ LIST, "unknown", false },
	{ LIST, "10.0.0.1, 10.0.0.2", false },
	{ LIST, "10.0.0.1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
	/* /0 and family */
	{ "0.0.0.0/0", "1.2.3.4", true },
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", true },
	{ "0.0.0.0/0", "::1", false },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "::", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/0", "1.2.3.4", false },
	{ "::/0", "::ffff:1.2.3.4", false },
	{ "::ffff:0:0/96", "1.2.3.4", true },       /* is 0.0.0.0/0 */
	{ "::ffff:0:0/96", "::1", false },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
	{ "::ffff:10.0.0.0/104", "11.0.0.0", false },
	{ "::ffff:1.2.3.4", "1.2.3.4", true },
	/* single addresses and narrow blocks */
	{ "1.2.3.4/32", "1.2.3.4", true },
	{ "1.2.3.4/32", "1.2.3.5", false },
	{ "1.2.3.4/32", "1.2.3.3", false },
	{ "1.2.3.4/31", "1.2.3.5", true },
	{ "1.2.3.4/31", "1.2.3.6", false },
	{ "1.2.3.4/31", "1.2.3.3", false },
	{ "128.0.0.0/1", "128.0.0.0", true },
	{ "128.0.0.0/1", "255.255.255.255", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "10.0.0.0/9", "10.127.255.255", true },
	{ "10.0.0.0/9", "10.128.0.0", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8:0:0:0:0:0:1", true },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "2001:db8::1/128", "2001:db8::", false },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
	{ "2001:db8::/33", "2001:db8:7fff::", true },
	{ "2001:db8::/33", "2001:db8:8000::", false },
	{ "", "127.0.0.1", false },
	{ "", "::1", false },
};

START_TEST(test_contains)
{
	struct gb_cidr_list *l = NULL;
	char why[128];

	ck_assert_int_eq(gb_cidr_list_parse(contains_cases[_i].list, &l, why, sizeof(why)), GB_OK);
	ck_assert_msg(gb_cidr_list_contains(l, contains_cases[_i].addr) == contains_cases[_i].in,
	              "\"%s\" in \"%s\": want %d", contains_cases[_i].addr, contains_cases[_i].list,
	              contains_cases[_i].in);
	gb_cidr_list_free(l);
}
END_TEST

START_TEST(test_contains_null)
{
	struct gb_cidr_list *l = NULL;

	ck_assert_int_eq(gb_cidr_list_parse("0.0.0.0/0 ::/0", &l, NULL, 0), GB_OK);
	ck_assert(!gb_cidr_list_contains(l, NULL));
	ck_assert(!gb_cidr_list_contains(NULL, "1.2.3.4"));
	ck_assert(gb_cidr_list_contains(l, "1.2.3.4"));
	gb_cidr_list_free(l);
}
END_TEST

/* ---- gb_client_ip ----------------------------------------------------- */

#define TRUSTED "127.0.0.1 10.0.0.0/8 2001:db8::/32"

static const struct {
	const char *trusted;
	const char *remote;
	const char *xff;        /* NULL: no header */
	int ret;
	const char *out;
} client_cases[] = {
	/* no trusted proxies: X-Forwarded-For is never read */
	{ "", "203.0.113.9", "6.6.6.6", 0, "203.0.113.9" },
	{ "", "127.0.0.1", "6.6.6.6", 0, "127.0.0.1" },
	{ "", "10.0.0.1", "6.6.6.6, 10.0.0.2", 0, "10.0.0.1" },
	{ "", "203.0.113.9", NULL, 0, "203.0.113.9" },
	/* an untrusted peer: the header is ignored */
	{ TRUSTED, "198.51.100.1", "1.1.1.1", 0, "198.51.100.1" },
	{ TRUSTED, "198.51.100.1", "10.0.0.2", 0, "198.51.100.1" },
	{ TRUSTED, "::ffff:198.51.100.1", "1.1.1.1", 0, "198.51.100.1" },
	/* a trusted peer */
	{ "127.0.0.1", "127.0.0.1", "6.6.6.6, 203.0.113.9", 0, "203.0.113.9" },
	{ TRUSTED, "127.0.0.1", "203.0.113.9", 0, "203.0.113.9" },
	{ TRUSTED, "127.0.0.1", NULL, 0, "127.0.0.1" },
	{ TRUSTED, "127.0.0.1", "", 0, "127.0.0.1" },
	{ TRUSTED, "127.0.0.1", " ", 0, "127.0.0.1" },
	{ TRUSTED, "127.0.0.1", ",", 0, "127.0.0.1" },
	/* chains of proxies */
	{ TRUSTED, "10.0.0.1", "203.0.113.9, 10.0.0.2, 10.0.0.3", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "10.0.0.7, 203.0.113.9, 10.0.0.2", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "1.1.1.1, 10.0.0.9, 203.0.113.9, 10.0.0.2", 0, "203.0.113.9" },
	/* every entry trusted: the left-most */
	{ TRUSTED, "10.0.0.1", "10.0.0.5, 10.0.0.6", 0, "10.0.0.5" },
	{ TRUSTED, "10.0.0.1", "127.0.0.1", 0, "127.0.0.1" },
	{ "0.0.0.0/0 ::/0", "1.2.3.4", "5.6.7.8, 9.9.9.9", 0, "5.6.7.8" },
	/* malformed entries stop the walk at the last good address */
	{ TRUSTED, "10.0.0.1", "203.0.113.9, unknown", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "unknown", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9, garbage, 10.0.0.2", 0, "10.0.0.2" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9, unknown, 10.0.0.2", 0, "10.0.0.2" },
	{ TRUSTED, "10.0.0.1", "garbage, 203.0.113.9, 10.0.0.2", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9:1234", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "[2001:db9::9]", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "[2001:db9::9]:443", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "fe80::1%eth0", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "_hidden", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.000.113.9", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9,", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9,,10.0.0.2", 0, "10.0.0.2" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9 10.0.0.2", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9;10.0.0.2", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9\n", 0, "10.0.0.1" },
	{ TRUSTED, "10.0.0.1", "for=203.0.113.9", 0, "10.0.0.1" },
	/* whitespace */
	{ TRUSTED, "10.0.0.1", " \t203.0.113.9 \t", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9 ,10.0.0.2", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9,10.0.0.2", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9  ,  10.0.0.2  ", 0, "203.0.113.9" },
	/* IPv6 and canonical output */
	{ TRUSTED, "2001:db8::1", "2001:DB9:0:0:0:0:0:ABCD", 0, "2001:db9::abcd" },
	{ TRUSTED, "2001:db8::1", "2001:db9::1, 2001:DB8::2", 0, "2001:db9::1" },
	{ TRUSTED, "2001:db8::1", "2001:db8::abcd, 2001:db8::2", 0, "2001:db8::abcd" },
	{ TRUSTED, "2001:db8::1", "::ffff:203.0.113.9", 0, "203.0.113.9" },
	{ TRUSTED, "10.0.0.1", "203.0.113.9, ::ffff:10.0.0.3", 0, "203.0.113.9" },
	{ TRUSTED, "::ffff:7f00:1", "203.0.113.9", 0, "203.0.113.9" },
	{ TRUSTED, "::FFFF:127.0.0.1", "::FFFF:1.2.3.4", 0, "1.2.3.4" },
	{ "", "::FFFF:1.2.3.4", NULL, 0, "1.2.3.4" },
	{ "", "2001:DB8::1", NULL, 0, "2001:db8::1" },
	{ "", "2001:0db8:0000:0000:0000:0000:0000:0001", NULL, 0, "2001:db8::1" },
	{ "", "2001:db8:0:0:1:0:0:1", NULL, 0, "2001:db8::1:0:0:1" },
	{ "", "::", NULL, 0, "::" },
	{ "", "::1", NULL, 0, "::1" },
	{ "", "0.0.0.0", NULL, 0, "0.0.0.0" },
	{ "", "::ffff:0.0.0.0", NULL, 0, "0.0.0.0" },
	/* a missing or malformed peer */
	{ TRUSTED, "", "203.0.113.9", -1, "unknown" },
	{ TRUSTED, "unknown", "203.0.113.9", -1, "unknown" },
	{ TRUSTED, "unix:", "203.0.113.9", -1, "unknown" },
	{ TRUSTED, "127.0.0.1:9000", "203.0.113.9", -1, "unknown" },
	{ TRUSTED, " 127.0.0.1", "203.0.113.9", -1, "unknown" },
	{ TRUSTED, "[::1]", NULL, -1, "unknown" },
	{ "", "1.2.3", NULL, -1, "unknown" },
};

START_TEST(test_client)
{
	struct gb_cidr_list *l = NULL;
	char out[GB_IP_MAX], why[128];

	ck_assert_int_eq(gb_cidr_list_parse(client_cases[_i].trusted, &l, why, sizeof(why)), GB_OK);
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(gb_client_ip(l, client_cases[_i].remote, client_cases[_i].xff, out,
	                              sizeof(out)), client_cases[_i].ret);
	ck_assert_msg(strcmp(out, client_cases[_i].out) == 0, "remote \"%s\" xff \"%s\": got "
	              "\"%s\", want \"%s\"", client_cases[_i].remote,
	              client_cases[_i].xff != NULL ? client_cases[_i].xff : "(null)", out,
	              client_cases[_i].out);
	gb_cidr_list_free(l);
}
END_TEST

START_TEST(test_client_args)
{
	struct gb_cidr_list *l = NULL;
	char out[GB_IP_MAX];

	ck_assert_int_eq(gb_cidr_list_parse(TRUSTED, &l, NULL, 0), GB_OK);
	ck_assert_int_eq(gb_client_ip(l, NULL, "203.0.113.9", out, sizeof(out)), -1);
	ck_assert_str_eq(out, "unknown");
	/* a NULL list is an empty one */
	ck_assert_int_eq(gb_client_ip(NULL, "127.0.0.1", "203.0.113.9", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "127.0.0.1");
	/* too small a buffer, whatever the address */
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(gb_client_ip(l, "1.2.3.4", NULL, out, GB_IP_MAX - 1), -1);
	ck_assert_str_eq(out, "");
	out[0] = 'X';
	ck_assert_int_eq(gb_client_ip(l, "1.2.3.4", NULL, out, 0), -1);
	ck_assert_int_eq(out[0], 'X');
	ck_assert_int_eq(gb_client_ip(l, "1.2.3.4", NULL, NULL, 64), -1);
	/* the longest output fits exactly */
	ck_assert_int_eq(gb_client_ip(NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NULL, out,
	                              GB_IP_MAX), 0);
	ck_assert_str_eq(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	ck_assert_int_eq(gb_client_ip(NULL, "0:0:0:0:0:ffff:255.255.255.255", NULL, out,
	                              GB_IP_MAX), 0);
	ck_assert_str_eq(out, "255.255.255.255");
	gb_cidr_list_free(l);
}
END_TEST

/* Whatever a client writes in X-Forwarded-For, an untrusted peer or an
 * empty trusted list gives the peer. */
START_TEST(test_client_spoof)
{
	static const char *const xffs[] = {
		"127.0.0.1", "10.0.0.1", "6.6.6.6", "10.0.0.1, 127.0.0.1", "::1", "unknown",
		"203.0.113.9, 10.0.0.2", "", " , ", "::ffff:10.0.0.1",
	};
	struct gb_cidr_list *l = NULL, *empty = NULL;
	char out[GB_IP_MAX];
	size_t i;

	ck_assert_int_eq(gb_cidr_list_parse(TRUSTED, &l, NULL, 0), GB_OK);
	ck_assert_int_eq(gb_cidr_list_parse("", &empty, NULL, 0), GB_OK);
	for (i = 0; i < NELEM(xffs); i++) {
		ck_assert_int_eq(gb_client_ip(l, "198.51.100.7", xffs[i], out, sizeof(out)), 0);
		ck_assert_str_eq(out, "198.51.100.7");
		ck_assert_int_eq(gb_client_ip(empty, "10.0.0.1", xffs[i], out, sizeof(out)), 0);
		ck_assert_str_eq(out, "10.0.0.1");
		ck_assert_int_eq(gb_client_ip(empty, "127.0.0.1", xffs[i], out, sizeof(out)), 0);
		ck_assert_str_eq(out, "127.0.0.1");
	}
	gb_cidr_list_free(l);
	gb_cidr_list_free(empty);
}
END_TEST

/* "client, 10.0.<i>.1, ..." with hops trusted entries after the client,
 * numbered from the left. */
static char *
chain(const char *client, size_t hops)
{
	size_t size = strlen(client) + hops * 16 + 1, i, len;
	char *s = malloc(size);

	ck_assert_ptr_nonnull(s);
	len = (size_t)snprintf(s, size, "%s", client);
	for (i = 0; i < hops; i++)
		len += (size_t)snprintf(s + len, size - len, ", 10.0.%zu.1", i);
	ck_assert_uint_lt(len, size);
	return s;
}

START_TEST(test_client_hops)
{
	struct gb_cidr_list *l = NULL;
	char out[GB_IP_MAX], *xff;

	ck_assert_int_eq(gb_cidr_list_parse(TRUSTED, &l, NULL, 0), GB_OK);
	/* 63 trusted hops and the client: 64 entries, all read */
	xff = chain("203.0.113.9", GB_XFF_HOPS_MAX - 1);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "203.0.113.9");
	free(xff);
	/* 64 trusted hops: the client is the 65th entry, never read; the
	 * left-most entry read is the answer */
	xff = chain("203.0.113.9", GB_XFF_HOPS_MAX);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.0.1");
	free(xff);
	xff = chain("203.0.113.9", GB_XFF_HOPS_MAX + 5);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.5.1");
	free(xff);
	gb_cidr_list_free(l);
}
END_TEST

START_TEST(test_client_window)
{
	static const char tail[] = "203.0.113.9, 10.0.0.2";
	struct gb_cidr_list *l = NULL;
	char out[GB_IP_MAX], *xff;
	size_t pad;

	ck_assert_int_eq(gb_cidr_list_parse(TRUSTED, &l, NULL, 0), GB_OK);
	/* "6.6.6.6," then exactly GB_XFF_MAX bytes: the window starts right
	 * after the comma, so its first entry is whole */
	pad = GB_XFF_MAX - (sizeof(tail) - 1);
	xff = t_repeat(' ', 8 + GB_XFF_MAX);
	memcpy(xff, "6.6.6.6,", 8);
	memcpy(xff + 8 + pad, tail, sizeof(tail) - 1);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "203.0.113.9");
	free(xff);
	/* one byte more: that entry is cut by the window, so malformed */
	xff = t_repeat(' ', 8 + GB_XFF_MAX + 1);
	memcpy(xff, "6.6.6.6,", 8);
	memcpy(xff + 8 + pad + 1, tail, sizeof(tail) - 1);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.0.2");
	free(xff);
	/* a huge header of spaces and one address at the end */
	xff = t_repeat(' ', 1 << 20);
	memcpy(xff + (1 << 20) - 11, "203.0.113.9", 11);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.0.1");
	free(xff);
	/* a huge header of commas */
	xff = t_repeat(',', 1 << 20);
	ck_assert_int_eq(gb_client_ip(l, "10.0.0.1", xff, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.0.1");
	free(xff);
	gb_cidr_list_free(l);
}
END_TEST

/* The output is a fixed point: parsing it again gives itself. */
START_TEST(test_client_canonical)
{
	char out[GB_IP_MAX], again[GB_IP_MAX];
	size_t i;

	for (i = 0; i < NELEM(client_cases); i++) {
		if (client_cases[i].ret != 0)
			continue;
		ck_assert_int_eq(gb_client_ip(NULL, client_cases[i].out, NULL, out, sizeof(out)), 0);
		ck_assert_str_eq(out, client_cases[i].out);
		ck_assert_int_eq(gb_client_ip(NULL, out, NULL, again, sizeof(again)), 0);
		ck_assert_str_eq(again, out);
	}
}
END_TEST

static Suite *
clientip_suite(void)
{
	Suite *s = suite_create("gb_clientip");
	TCase *tp = tcase_create("parse");
	TCase *tc = tcase_create("contains");
	TCase *ti = tcase_create("client_ip");

	tcase_add_loop_test(tp, test_parse, 0, (int)NELEM(parse_cases));
	tcase_add_test(tp, test_parse_null);
	tcase_add_test(tp, test_parse_why);
	tcase_add_test(tp, test_parse_max);
	suite_add_tcase(s, tp);

	tcase_add_loop_test(tc, test_contains, 0, (int)NELEM(contains_cases));
	tcase_add_test(tc, test_contains_null);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(ti, test_client, 0, (int)NELEM(client_cases));
	tcase_add_test(ti, test_client_args);
	tcase_add_test(ti, test_client_spoof);
	tcase_add_test(ti, test_client_hops);
	tcase_add_test(ti, test_client_window);
	tcase_add_test(ti, test_client_canonical);
	suite_add_tcase(s, ti);
	return s;
}

GB_TEST_MAIN(clientip_suite)
