/* gb_clientip.h - the client's address behind trusted proxies.
 *
 * REMOTE_ADDR is the peer that connected to nginx.  When that peer is one
 * of our own proxies (a load balancer, a CDN edge), the client is further
 * left in X-Forwarded-For, which every hop appends to and which the client
 * itself may have filled with anything.  So the header is read from the
 * right, one hop at a time, only while the hop that wrote the entry is
 * trusted: the first untrusted address is the client.  With no trusted
 * proxies the header is never read, so spoofing it changes nothing.
 *
 * Addresses are bare IPv4 dotted quads (no leading zeros) or IPv6 text as
 * inet_pton(3) takes it.  Ports, brackets, zone ids ("fe80::1%eth0"),
 * "unknown", obfuscated identifiers and surrounding spaces are not
 * addresses.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4
 * address a.b.c.d everywhere: in a list, in a lookup and in the output.
 * IPv4 and IPv6 are otherwise separate: "::/0" does not hold 10.0.0.1.
 *
 * A gb_cidr_list is immutable after gb_cidr_list_parse(), so every thread
 * may read it without locks; nothing here allocates after the parse.
 */
#ifndef GB_CLIENTIP_H
#define GB_CLIENTIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "gb_err.h"

/* Room for any address gb_client_ip() writes, with the NUL. */
#define GB_IP_MAX INET6_ADDRSTRLEN
/* Most entries in one list. */
#define GB_CIDR_MAX 256
/* Only the last GB_XFF_MAX bytes and the right-most GB_XFF_HOPS_MAX
 * entries of X-Forwarded-For are ever read. */
#define GB_XFF_MAX 8192
#define GB_XFF_HOPS_MAX 64

struct gb_cidr_list;

/* Parses a list of addresses and CIDR blocks ("10.0.0.0/8, 127.0.0.1
 * ::1 fd00::/8") separated by any run of commas, spaces and tabs; an
 * address alone is a /32 or /128.  NULL, "" or separators only give an
 * empty list.  A prefix length is decimal without leading zeros, 0 to 32
 * (IPv4) or 0 to 128 (IPv6); "::ffff:10.0.0.0/104" is 10.0.0.0/8.  Bits set
 * after the prefix are an error ("10.0.0.1/8": write 10.0.0.0/8), as a typo
 * there would trust more or less than meant.
 * Returns GB_OK and sets *out (never NULL, free it with gb_cidr_list_free);
 * GB_EINVAL for a bad entry or more than GB_CIDR_MAX entries, with one line
 * naming the entry (by its 1-based position and its text, control and
 * non-ASCII bytes shown as '?' and cut short) and the reason in
 * why[0..whysize) when why is not NULL; or GB_ENOMEM.  *out is unchanged
 * on error. */
enum gb_err gb_cidr_list_parse(const char *spec, struct gb_cidr_list **out, char *why,
                               size_t whysize);

/* Frees l; NULL is fine. */
void gb_cidr_list_free(struct gb_cidr_list *l);

/* True when addr is a bare address inside one of l's blocks; false for a
 * malformed addr, a NULL addr or a NULL l. */
bool gb_cidr_list_contains(const struct gb_cidr_list *l, const char *addr);

/* The entries in l (0 for NULL). */
size_t gb_cidr_list_count(const struct gb_cidr_list *l);

/* Writes the client's address into out[0..outsize), canonical (inet_ntop
 * text: lowercase, zeros compressed; IPv4-mapped as IPv4).
 *
 * The client is remote_addr unless remote_addr is in trusted; then
 * X-Forwarded-For (xff, may be NULL; several headers arrive joined by ", ")
 * is walked from the right: entries are split on commas and trimmed of
 * spaces and tabs, a trusted entry is one more proxy and is skipped, and
 * the first untrusted one is the client.  If every entry read is trusted,
 * the left-most one read is the client.  A malformed entry (not a bare
 * address, empty included) stops the walk: the client is then the last
 * address read before it, the nearest hop that a trusted proxy vouched for.
 * An entry cut by the GB_XFF_MAX window counts as malformed; past
 * GB_XFF_HOPS_MAX entries the walk stops as if at the left end.  An empty
 * or NULL trusted list means the header is never read.
 *
 * Returns 0; or -1 when remote_addr is NULL or not a bare address (out is
 * then "unknown", which is no address: do not key anything per client on
 * it without knowing that) or when outsize < GB_IP_MAX (out is then "" if
 * outsize > 0). */
int gb_client_ip(const struct gb_cidr_list *trusted, const char *remote_addr, const char *xff,
                 char *out, size_t outsize);

#endif
