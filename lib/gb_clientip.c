#include "config.h"
#include "gb_clientip.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Longest entry text: an address and "/128". */
#define ENTRY_MAX (GB_IP_MAX - 1 + 4)
/* Characters of an entry shown in a message. */
#define SHOW_MAX 48

struct ip {
	int family;             /* AF_INET: b[0..4) is the address */
	uint8_t b[16];
};

struct cidr {
	struct ip net;
	unsigned bits;
};

struct gb_cidr_list {
	size_t n;
	struct cidr e[];
};

/* Parses s[0..len) as a bare address; never reads past len.  An
 * IPv4-mapped address stays IPv6 here (see unmap()). */
static bool
ip_parse(const char *s, size_t len, struct ip *ip)
{
	char buf[GB_IP_MAX];

	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(ip->b, 0, sizeof(ip->b));
	if (inet_pton(AF_INET, buf, ip->b) == 1) {
		ip->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, ip->b) == 1) {
		ip->family = AF_INET6;
		return true;
	}
	return false;
}

static bool
is_mapped(const struct ip *ip)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return ip->family == AF_INET6 && memcmp(ip->b, prefix, sizeof(prefix)) == 0;
}

/* ::ffff:a.b.c.d becomes a.b.c.d; *bits, when given, loses the 96 bits of
 * the mapping prefix (the caller has checked that it is at least 96). */
static void
unmap(struct ip *ip, unsigned *bits)
{
	if (!is_mapped(ip))
		return;
	memmove(ip->b, ip->b + 12, 4);
	memset(ip->b + 4, 0, 12);
	ip->family = AF_INET;
	if (bits != NULL)
		*bits -= 96;
}

static unsigned
ip_bits(const struct ip *ip)
{
	return ip->family == AF_INET ? 32 : 128;
}

/* True when a and b agree on their first bits bits. */
static bool
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] ^ b[full]) & mask) == 0;
}

/* Zeroes every bit after the first bits bits. */
static void
clear_host_bits(struct ip *ip, unsigned bits)
{
	unsigned i, total = ip_bits(ip) / 8;

	for (i = bits / 8; i < total; i++)
		ip->b[i] &= i == bits / 8 && bits % 8 != 0 ? (uint8_t)(0xff << (8 - bits % 8)) : 0;
}

/* True when no bit after the first bits bits is set. */
static bool
host_bits_clear(const struct ip *ip, unsigned bits)
{
	struct ip net = *ip;

	clear_host_bits(&net, bits);
	return memcmp(net.b, ip->b, sizeof(ip->b)) == 0;
}

static bool
list_match(const struct gb_cidr_list *l, const struct ip *ip)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].net.family == ip->family &&
		    prefix_eq(l->e[i].net.b, ip->b, l->e[i].bits))
			return true;
	return false;
}

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Copies s[0..len) into dst for a message: bytes outside printable ASCII
 * become '?', and past SHOW_MAX characters "..." ends it. */
static void
show(char dst[SHOW_MAX + 4], const char *s, size_t len)
{
	gb_show(dst, SHOW_MAX + 4, s, len, SHOW_MAX);
}

/* Parses one entry s[0..len) into *e; NULL, or why it is bad (with the
 * network it should have been in hint when host bits are set). */
static const char *
entry_parse(const char *s, size_t len, struct cidr *e, char *hint, size_t hintsize)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	unsigned bits = 0;
	size_t i;

	if (len > ENTRY_MAX)
		return "too long for an address";
	if (!ip_parse(s, alen, &e->net))
		return "not an IPv4 or IPv6 address";
	if (slash == NULL) {
		bits = ip_bits(&e->net);
	} else {
		const char *p = slash + 1;
		size_t plen = len - alen - 1;

		if (plen == 0 || plen > 3 || (p[0] == '0' && plen > 1))
			return "bad prefix length";
		for (i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return "bad prefix length";
			bits = bits * 10 + (unsigned)(p[i] - '0');
		}
		if (bits > ip_bits(&e->net))
			return e->net.family == AF_INET ? "prefix length above 32" :
			                                  "prefix length above 128";
		if (!host_bits_clear(&e->net, bits)) {
			struct ip net = e->net;
			char text[GB_IP_MAX];

			clear_host_bits(&net, bits);
			unmap(&net, NULL);
			if (inet_ntop(net.family, net.b, text, sizeof(text)) != NULL)
				snprintf(hint, hintsize, " (did you mean %s/%u?)", text,
				         net.family == e->net.family ? bits : bits - 96);
			return "address bits set after the prefix length";
		}
	}
	e->bits = bits;
	unmap(&e->net, &e->bits);
	return NULL;
}

enum gb_err
gb_cidr_list_parse(const char *spec, struct gb_cidr_list **out, char *why, size_t whysize)
{
	struct gb_cidr_list *l;
	size_t i = 0, start, n = 0;
	char shown[SHOW_MAX + 4], hint[GB_IP_MAX + 32];
	const char *bad;

	if (spec == NULL)
		spec = "";
	/* Count first: one allocation, and the limit before any work. */
	while (spec[i] != '\0') {
		while (is_sep(spec[i]))
			i++;
		if (spec[i] == '\0')
			break;
		if (++n > GB_CIDR_MAX) {
			if (why != NULL)
				snprintf(why, whysize, "more than %d entries", GB_CIDR_MAX);
			return GB_EINVAL;
		}
		while (spec[i] != '\0' && !is_sep(spec[i]))
			i++;
	}
	l = malloc(sizeof(*l) + n * sizeof(l->e[0]));
	if (l == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "out of memory");
		return GB_ENOMEM;
	}
	l->n = 0;
	for (i = 0; spec[i] != '\0';) {
		while (is_sep(spec[i]))
			i++;
		if (spec[i] == '\0')
			break;
		start = i;
		while (spec[i] != '\0' && !is_sep(spec[i]))
			i++;
		hint[0] = '\0';
		bad = entry_parse(spec + start, i - start, &l->e[l->n], hint, sizeof(hint));
		if (bad != NULL) {
			if (why != NULL) {
				show(shown, spec + start, i - start);
				snprintf(why, whysize, "entry %zu \"%s\": %s%s", l->n + 1, shown,
				         bad, hint);
			}
			goto err;
		}
		l->n++;
	}
	*out = l;
	return GB_OK;
err:
	free(l);
	return GB_EINVAL;
}

void
gb_cidr_list_free(struct gb_cidr_list *l)
{
	free(l);
}

size_t
gb_cidr_list_count(const struct gb_cidr_list *l)
{
	return l != NULL ? l->n : 0;
}

bool
gb_cidr_list_contains(const struct gb_cidr_list *l, const char *addr)
{
	struct ip ip;

	if (l == NULL || addr == NULL || !ip_parse(addr, strnlen(addr, GB_IP_MAX), &ip))
		return false;
	unmap(&ip, NULL);
	return list_match(l, &ip);
}

int
gb_client_ip(const struct gb_cidr_list *trusted, const char *remote_addr, const char *xff,
             char *out, size_t outsize)
{
	struct ip best, cur;
	size_t end, start, lo, a, b, hops;

	if (out == NULL || outsize < GB_IP_MAX) {
		if (out != NULL && outsize > 0)
			out[0] = '\0';
		return -1;
	}
	if (remote_addr == NULL ||
	    !ip_parse(remote_addr, strnlen(remote_addr, GB_IP_MAX), &best)) {
		snprintf(out, outsize, "unknown");
		return -1;
	}
	unmap(&best, NULL);
	if (trusted == NULL || trusted->n == 0 || xff == NULL || !list_match(trusted, &best))
		goto done;
	end = strlen(xff);
	lo = end > GB_XFF_MAX ? end - GB_XFF_MAX : 0;
	for (hops = 0; hops < GB_XFF_HOPS_MAX; hops++) {
		for (start = end; start > lo && xff[start - 1] != ','; start--)
			;
		if (start == lo && lo > 0 && xff[lo - 1] != ',')
			break;          /* cut by the window */
		for (a = start; a < end && (xff[a] == ' ' || xff[a] == '\t'); a++)
			;
		for (b = end; b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'); b--)
			;
		if (!ip_parse(xff + a, b - a, &cur))
			break;
		unmap(&cur, NULL);
		best = cur;
		if (!list_match(trusted, &cur) || start <= lo)
			break;
		end = start - 1;        /* before the comma */
	}
done:
	/* Cannot fail: outsize >= GB_IP_MAX. */
	if (inet_ntop(best.family, best.b, out, (socklen_t)outsize) == NULL)
		snprintf(out, outsize, "unknown");
	return 0;
}
