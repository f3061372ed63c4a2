#include "config.h"
#include "gb_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb_time.h"

#define NELEM(t) (sizeof(t) / sizeof((t)[0]))
#define SHOW_FILE_MAX 200             /* path text quoted in messages */
#define MAGIC "GBMETRIC"
#define CLAIM_WAIT_US 10000           /* how long a half-claimed slot is waited for */
#define CACHE_BITS 7                  /* per-thread cache: 128 entries */
#define SUM_MAX_US 1000000000000ULL   /* one observation adds at most ~11.6 days */
#define LABELS_IN_CALL 4              /* label values one call passes at most */

/* Shared memory is updated by other processes: the atomics must be real
 * instructions, not a lock inside this process. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 &&
               ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert((GB_METRICS_SERIES & (GB_METRICS_SERIES - 1)) == 0,
               "GB_METRICS_SERIES must be a power of two");

const double gb_metrics_buckets[GB_METRICS_NBUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

/* ---- the segment -------------------------------------------------------- */

/* Written once by the process that lays the file out (magic last), read by
 * every opener under flock; only dropped changes afterwards. */
struct hdr {
	_Alignas(64) char magic[8];        /* MAGIC, no NUL */
	uint32_t version;                  /* GB_METRICS_VERSION */
	uint32_t header_size;              /* sizeof(struct hdr) */
	uint64_t total_size;               /* sizeof(struct seg): the file's size */
	uint32_t nslots;                   /* GB_METRICS_SERIES */
	uint32_t nbuckets;                 /* GB_METRICS_NBUCKETS */
	uint32_t slot_size;                /* sizeof(struct slot) */
	uint32_t labels_max;               /* GB_METRICS_LABELS_MAX */
	double bounds[GB_METRICS_NBUCKETS]; /* gb_metrics_buckets */
	_Atomic uint64_t dropped;          /* updates of series not in the table */
};

enum { FREE = 0, CLAIMING = 1, READY = 2 };

/* family, hash and labels are written once, between the claim and the
 * release store of READY, and never again; a reader looks at them only
 * after an acquire load of READY.  The values start on a cache line of
 * their own, so updates do not evict the labels other cores compare. */
struct slot {
	_Atomic uint32_t state;            /* FREE, CLAIMING, READY */
	uint32_t family;                   /* enum fam */
	uint64_t hash;                     /* series_hash() of family and labels */
	char labels[GB_METRICS_LABELS_MAX]; /* rendered, escaped, NUL-terminated */
	_Alignas(64) _Atomic uint64_t value; /* counter; gauge (an int64_t) */
	_Atomic uint64_t count;            /* histogram: observations */
	_Atomic uint64_t sum_us;           /* histogram: sum in microseconds */
	_Atomic uint64_t buckets[GB_METRICS_NBUCKETS]; /* not cumulative */
};

struct seg {
	struct hdr h;
	struct slot slots[GB_METRICS_SERIES];
};

_Static_assert(sizeof(struct hdr) % 64 == 0, "header size");
_Static_assert(sizeof(struct slot) % 64 == 0, "slot size");
_Static_assert(sizeof(struct seg) < UINT32_MAX, "segment size");

/* Set by gb_metrics_open() before threads start; gen changes with every
 * open and close so that no thread's cache outlives a mapping. */
static struct seg *seg;
static unsigned gen;

/* ---- families ----------------------------------------------------------- */

/* The exposition's order.  The numbers are in the file (a slot's family):
 * a change to them is a change of GB_METRICS_VERSION.  0 is no family. */
enum fam {
	F_HTTP = 1,
	F_HTTP_DUR,
	F_UP,
	F_UP_DUR,
	F_RL,
	F_CIRCUIT,
	F_DB,
	F_REDIS,
	F_TASKS,
	F_NFAM
};

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };

static const struct family {
	const char *name;
	enum kind kind;
	unsigned nlabels;
	const char *label[LABELS_IN_CALL];
	const char *help;
} families[F_NFAM] = {
	[F_HTTP] = { "gerbang_http_requests_total", K_COUNTER, 4,
	             { "service", "route", "method", "code" },
	             "HTTP requests answered, by service, route template, method and status." },
	[F_HTTP_DUR] = { "gerbang_http_request_duration_seconds", K_HISTOGRAM, 2,
	                 { "service", "route" },
	                 "Time from a request's arrival to its response, in seconds." },
	[F_UP] = { "gerbang_upstream_requests_total", K_COUNTER, 2, { "plugin", "code" },
	           "Exchanges with plugin upstreams, by status (0: no answer)." },
	[F_UP_DUR] = { "gerbang_upstream_duration_seconds", K_HISTOGRAM, 1, { "plugin" },
	               "Time of exchanges with plugin upstreams, retries included, in seconds." },
	[F_RL] = { "gerbang_ratelimit_decisions_total", K_COUNTER, 2, { "class", "decision" },
	           "Rate-limit decisions: allowed, limited, failed_open, failed_closed." },
	[F_CIRCUIT] = { "gerbang_circuit_state", K_GAUGE, 1, { "plugin" },
	                "Circuit breaker of a plugin: 0 closed, 1 half-open, 2 open." },
	[F_DB] = { "gerbang_db_errors_total", K_COUNTER, 0, { NULL },
	           "PostgreSQL errors." },
	[F_REDIS] = { "gerbang_redis_errors_total", K_COUNTER, 0, { NULL },
	              "Redis connections lost or failed." },
	[F_TASKS] = { "gerbang_tasks_total", K_COUNTER, 2, { "kind", "status" },
	              "Background tasks, by kind and outcome." },
};

#define DROPPED_NAME "gerbang_metrics_dropped_total"
#define DROPPED_HELP "Metric updates lost: the series table was full or the labels too long."
#define BUILD_NAME "gerbang_build_info"
#define BUILD_HELP "The version and commit of the program that serves these metrics."

/* Methods fold to these; index 0 is everything else. */
static const char *const methods[] = {
	"OTHER", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
};

static int
method_index(const char *m)
{
	size_t i;

	if (m == NULL)
		return 0;
	for (i = 1; i < NELEM(methods); i++)
		if (strcmp(m, methods[i]) == 0)
			return (int)i;
	return 0;
}

static int
code_fold(int code)
{
	return code >= 100 && code <= 599 ? code : 0;
}

/* code (0 or 100..599) in decimal into buf[4]; returns buf. */
static const char *
code_text(int code, char *buf)
{
	if (code == 0) {
		buf[0] = '0';
		buf[1] = '\0';
		return buf;
	}
	buf[0] = (char)('0' + code / 100);
	buf[1] = (char)('0' + code / 10 % 10);
	buf[2] = (char)('0' + code % 10);
	buf[3] = '\0';
	return buf;
}

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* ---- label text --------------------------------------------------------- */

/* The exposition text of the character at s (not NUL) into u (at most 4
 * bytes) and its length into *ulen; returns the bytes of s it stands for.
 * Backslash, double quote and newline are escaped as the text format
 * says; other control characters and bytes that are not UTF-8 become '?',
 * so that one bad value cannot make a scrape unparsable. */
static size_t
esc_char(const char *s, char *u, size_t *ulen)
{
	unsigned char c = (unsigned char)s[0];
	size_t k;

	*ulen = 1;
	switch (c) {
	case '\\':
	case '"':
		u[0] = '\\';
		u[1] = (char)c;
		*ulen = 2;
		return 1;
	case '\n':
		u[0] = '\\';
		u[1] = 'n';
		*ulen = 2;
		return 1;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		u[0] = '?';
		return 1;
	}
	if (c < 0x80) {
		u[0] = (char)c;
		return 1;
	}
	k = gb_utf8_len((const unsigned char *)s, strnlen(s, 4));
	if (k == 0) {
		u[0] = '?';
		return 1;
	}
	memcpy(u, s, k);
	*ulen = k;
	return k;
}

static bool
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
}

/* Appends v escaped to dst[*len..size); false when it does not fit (with
 * room for the NUL). */
static bool
put_value(char *dst, size_t *len, size_t size, const char *v)
{
	char u[4];
	size_t ulen;

	while (*v != '\0') {
		if (plain((unsigned char)*v)) {
			if (*len + 1 >= size)
				return false;
			dst[(*len)++] = *v++;
			continue;
		}
		v += esc_char(v, u, &ulen);
		if (*len + ulen >= size)
			return false;
		memcpy(dst + *len, u, ulen);
		*len += ulen;
	}
	return true;
}

static bool
put_text(char *dst, size_t *len, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= size)
		return false;
	memcpy(dst + *len, s, n);
	*len += n;
	return true;
}

/* f's labels with the values v as `a="x",b="y"` into out (NUL-terminated,
 * GB_METRICS_LABELS_MAX bytes); its length, or -1 when it does not fit. */
static int
render(const struct family *f, const char *const *v, char *out)
{
	size_t len = 0, i;

	for (i = 0; i < f->nlabels; i++)
		if ((i > 0 && !put_text(out, &len, GB_METRICS_LABELS_MAX, ",")) ||
		    !put_text(out, &len, GB_METRICS_LABELS_MAX, f->label[i]) ||
		    !put_text(out, &len, GB_METRICS_LABELS_MAX, "=\"") ||
		    !put_value(out, &len, GB_METRICS_LABELS_MAX, v[i]) ||
		    !put_text(out, &len, GB_METRICS_LABELS_MAX, "\""))
			return -1;
	out[len] = '\0';
	return (int)len;
}

/* Whether *p starts with s; moves *p past it.  Stops at the first
 * difference, so it never reads past lab's NUL. */
static bool
skip(const char **p, const char *s)
{
	const char *q = *p;

	for (; *s != '\0'; s++, q++)
		if (*q != *s)
			return false;
	*p = q;
	return true;
}

static bool
skip_value(const char **p, const char *v)
{
	const char *q = *p;
	char u[4];
	size_t ulen, j;

	while (*v != '\0') {
		if (plain((unsigned char)*v)) {
			if (*q != *v)
				return false;
			q++;
			v++;
			continue;
		}
		v += esc_char(v, u, &ulen);
		for (j = 0; j < ulen; j++, q++)
			if (*q != u[j])
				return false;
	}
	*p = q;
	return true;
}

/* Whether lab is what render() makes of f and v, without making it: the
 * check of a cache hit. */
static bool
labels_match(const char *lab, const struct family *f, const char *const *v)
{
	size_t i;

	for (i = 0; i < f->nlabels; i++)
		if ((i > 0 && *lab++ != ',') || !skip(&lab, f->label[i]) || !skip(&lab, "=\"") ||
		    !skip_value(&lab, v[i]) || *lab++ != '"')
			return false;
	return *lab == '\0';
}

/* FNV-1a 64 of the family and the label text; never 0 (0 is "no hash"). */
static uint64_t
series_hash(unsigned fam, const char *lab, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	h = (h ^ fam) * 1099511628211ULL;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)lab[i]) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

/* ---- finding a series --------------------------------------------------- */

/* Waits a little for a slot another thread or process is claiming;
 * returns its state then (still CLAIMING if its claimer was stopped or
 * died half-way: the slot is then passed over). */
static uint32_t
wait_claimed(struct slot *s)
{
	int64_t until = 0;
	uint32_t st;

	while ((st = atomic_load_explicit(&s->state, memory_order_acquire)) == CLAIMING) {
		if (until == 0)
			until = gb_mono_us() + CLAIM_WAIT_US;
		else if (gb_mono_us() > until)
			break;
		sched_yield();
	}
	return st;
}

/* The slot of family fam with labels lab[0..len] (hash h), claiming a free
 * one when there is none; NULL when the table is full.  Probes linearly
 * from h: a series, never removed, is always before the first free slot
 * of its probe sequence. */
static struct slot *
probe(struct seg *m, unsigned fam, uint64_t h, const char *lab, size_t len)
{
	size_t at = (size_t)(h & (GB_METRICS_SERIES - 1)), n;
	struct slot *s;
	uint32_t st;

	for (n = 0; n < GB_METRICS_SERIES; n++, at = (at + 1) & (GB_METRICS_SERIES - 1)) {
		s = &m->slots[at];
		st = atomic_load_explicit(&s->state, memory_order_acquire);
		if (st == FREE) {
			if (atomic_compare_exchange_strong_explicit(&s->state, &st, CLAIMING,
			                                            memory_order_acquire,
			                                            memory_order_acquire)) {
				s->family = fam;
				s->hash = h;
				memcpy(s->labels, lab, len + 1);
				atomic_store_explicit(&s->state, READY, memory_order_release);
				return s;
			}
			/* st is what won the race */
		}
		if (st == CLAIMING)
			st = wait_claimed(s);
		if (st == READY && s->family == fam && s->hash == h &&
		    memcmp(s->labels, lab, len + 1) == 0)
			return s;
	}
	return NULL;
}

/* The slot of f's series with values v, NULL when there is none and none
 * can be claimed; *h is its hash (0: the labels do not fit). */
static struct slot *
find(struct seg *m, unsigned fam, const char *const *v, uint64_t *h)
{
	char lab[GB_METRICS_LABELS_MAX];
	int len;

	if ((len = render(&families[fam], v, lab)) < 0) {
		*h = 0;
		return NULL;
	}
	*h = series_hash(fam, lab, (size_t)len);
	return probe(m, fam, *h, lab, (size_t)len);
}

/* A call's series in the per-thread cache: the family and the caller's
 * pointers and numbers.  A hit is checked against the text in the slot,
 * so a pointer reused for other text is a miss, not a wrong series; the
 * same text at another address is another entry for the same slot. */
struct key {
	unsigned fam;
	int i1, i2;                   /* method, code: by value */
	const void *p1, *p2;          /* the caller's strings, v[0] and v[1] */
};

struct ent {
	struct key k;
	unsigned gen;                 /* 0: empty */
	uint8_t nstr;                 /* how many of v[0], v[1] are the caller's */
	bool verbatim;                /* they stand unescaped in s[0]'s labels, */
	uint8_t off[2], len[2];       /* there */
	struct slot *s[2];            /* NULL: dropped (h says which series) */
	uint64_t h[2];
};

_Static_assert(GB_METRICS_LABELS_MAX <= 256, "label offsets are bytes");

static _Thread_local struct ent cache[1U << CACHE_BITS];

static unsigned
cache_index(const struct key *k)
{
	uint64_t x;

	x = (uint64_t)(uintptr_t)k->p1 * 0x9e3779b97f4a7c15ULL +
	    (uint64_t)(uintptr_t)k->p2 * 0xc2b2ae3d27d4eb4fULL +
	    (((uint64_t)k->fam << 40) ^ ((uint64_t)(unsigned)k->i1 << 20) ^ (unsigned)k->i2) *
	    0x165667b19e3779f9ULL;
	return (unsigned)(x >> (64 - CACHE_BITS));
}

static bool
key_eq(const struct key *a, const struct key *b)
{
	return a->fam == b->fam && a->p1 == b->p1 && a->p2 == b->p2 && a->i1 == b->i1 &&
	       a->i2 == b->i2;
}

static bool
live(const struct slot *s, unsigned fam)
{
	return atomic_load_explicit(&s->state, memory_order_acquire) == READY && s->family == fam;
}

/* Whether e's k-th series is still that of family fam with values v:
 * the slow check, escaping as it goes. */
static bool
ent_ok(const struct ent *e, int k, unsigned fam, const char *const *v)
{
	char lab[GB_METRICS_LABELS_MAX];
	int len;

	if (e->s[k] != NULL)
		return live(e->s[k], fam) && labels_match(e->s[k]->labels, &families[fam], v);
	/* dropped: the same labels (or again too long) */
	len = render(&families[fam], v, lab);
	return len < 0 ? e->h[k] == 0 : e->h[k] == series_hash(fam, lab, (size_t)len);
}

/* The usual check: the caller's strings are, byte for byte, where they
 * were in the first series' labels; numbers are in the key by value. */
static bool
ent_ok_fast(const struct ent *e, unsigned fam, const char *const *v)
{
	const struct slot *s = e->s[0];
	unsigned i;

	if (!live(s, fam))
		return false;
	for (i = 0; i < e->nstr; i++)
		if (strncmp(v[i], s->labels + e->off[i], e->len[i]) != 0 || v[i][e->len[i]] != '\0')
			return false;
	return true;
}

/* Where the caller's strings stand in e->s[0]'s labels, and whether they
 * stand there as they are (nothing escaped or replaced). */
static void
ent_place(struct ent *e, const char *const *v)
{
	const char *lab = e->s[0]->labels, *p = lab;
	unsigned i;

	e->verbatim = true;
	for (i = 0; i < e->nstr; i++) {
		if ((p = strchr(p, '"')) == NULL) {
			e->verbatim = false;
			return;
		}
		e->off[i] = (uint8_t)(++p - lab);
		while (*p != '"' && *p != '\0')
			p += p[0] == '\\' && p[1] != '\0' ? 2 : 1;
		e->len[i] = (uint8_t)(p - lab - e->off[i]);
		if (*p++ != '"' || strlen(v[i]) != e->len[i] ||
		    memcmp(v[i], lab + e->off[i], e->len[i]) != 0) {
			e->verbatim = false;
			return;
		}
	}
}

/* The slots of a call's series: family k->fam, and fam2 (0: none), whose
 * labels are the first of v; the first nstr of v are the caller's strings
 * (k->p1, k->p2).  A series that is not in the table (full, or labels too
 * long) gives NULL and counts in dropped. */
static void
lookup(struct seg *m, const struct key *k, unsigned nstr, unsigned fam2,
       const char *const *v, struct slot **s)
{
	struct ent *e = &cache[cache_index(k)];
	bool hit;

	/* When the first series' labels match, so do the second's: they are
	 * the first values of the same text, rendered the same way. */
	hit = e->gen == gen && key_eq(&e->k, k) &&
	      (e->verbatim ? ent_ok_fast(e, k->fam, v) : ent_ok(e, 0, k->fam, v)) &&
	      (fam2 == 0 || (e->s[0] != NULL ? e->s[1] == NULL || live(e->s[1], fam2) :
	                     ent_ok(e, 1, fam2, v)));
	if (!hit) {
		e->s[0] = find(m, k->fam, v, &e->h[0]);
		e->s[1] = NULL;
		e->h[1] = 0;
		if (fam2 != 0)
			e->s[1] = find(m, fam2, v, &e->h[1]);
		e->k = *k;
		e->nstr = (uint8_t)nstr;
		e->verbatim = false;
		if (e->s[0] != NULL)
			ent_place(e, v);
		e->gen = gen;
	}
	s[0] = e->s[0];
	s[1] = e->s[1];
	if (s[0] == NULL)
		atomic_fetch_add_explicit(&m->h.dropped, 1, memory_order_relaxed);
	if (fam2 != 0 && s[1] == NULL)
		atomic_fetch_add_explicit(&m->h.dropped, 1, memory_order_relaxed);
}

/* ---- updates ------------------------------------------------------------ */

static void
count(struct slot *s)
{
	if (s != NULL)
		atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

/* Negative and NaN durations count as 0; the bucket is the first whose
 * bound is >= seconds, none (only +Inf, which is count) past the last. */
static void
observe(struct slot *s, double seconds)
{
	uint64_t us;
	size_t b;

	if (s == NULL)
		return;
	if (!(seconds > 0))
		seconds = 0;
	for (b = 0; b < GB_METRICS_NBUCKETS; b++)
		if (seconds <= gb_metrics_buckets[b]) {
			atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
			break;
		}
	us = seconds < (double)SUM_MAX_US / 1e6 ? (uint64_t)(seconds * 1e6 + 0.5) : SUM_MAX_US;
	atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

void
gb_metrics_http(const char *service, const char *route, const char *method, int code,
                double seconds)
{
	const char *v[LABELS_IN_CALL];
	struct seg *m = seg;
	struct slot *s[2];
	struct key k;
	char num[4];
	int mi;

	if (m == NULL)
		return;
	mi = method_index(method);
	code = code_fold(code);
	k = (struct key){ F_HTTP, mi, code, service, route };
	v[0] = str(service);
	v[1] = str(route);
	v[2] = methods[mi];
	v[3] = code_text(code, num);
	lookup(m, &k, 2, F_HTTP_DUR, v, s);
	count(s[0]);
	observe(s[1], seconds);
}

void
gb_metrics_upstream(const char *plugin, int code, double seconds)
{
	const char *v[LABELS_IN_CALL] = { "", "", "", "" };
	struct seg *m = seg;
	struct slot *s[2];
	struct key k;
	char num[4];

	if (m == NULL)
		return;
	code = code_fold(code);
	k = (struct key){ F_UP, 0, code, plugin, NULL };
	v[0] = str(plugin);
	v[1] = code_text(code, num);
	lookup(m, &k, 1, F_UP_DUR, v, s);
	count(s[0]);
	observe(s[1], seconds);
}

/* One series of fam with up to two string labels a and b. */
static struct slot *
series2(unsigned fam, const char *a, const char *b)
{
	struct seg *m = seg;
	const char *v[LABELS_IN_CALL] = { str(a), str(b), "", "" };
	struct slot *s[2];
	struct key k = { fam, 0, 0, a, b };

	if (m == NULL)
		return NULL;
	lookup(m, &k, families[fam].nlabels < 2 ? families[fam].nlabels : 2, 0, v, s);
	return s[0];
}

void
gb_metrics_ratelimit(const char *class_name, const char *decision)
{
	count(series2(F_RL, class_name, decision));
}

void
gb_metrics_circuit(const char *plugin, int state)
{
	struct slot *s = series2(F_CIRCUIT, plugin, NULL);

	if (s != NULL)
		atomic_store_explicit(&s->value, (uint64_t)(int64_t)state, memory_order_relaxed);
}

void
gb_metrics_db_error(void)
{
	count(series2(F_DB, NULL, NULL));
}

void
gb_metrics_redis_error(void)
{
	count(series2(F_REDIS, NULL, NULL));
}

void
gb_metrics_task(const char *kind, const char *status)
{
	count(series2(F_TASKS, kind, status));
}

/* ---- open and close ----------------------------------------------------- */

static void
header_make(struct hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = GB_METRICS_VERSION;
	h->header_size = sizeof(struct hdr);
	h->total_size = sizeof(struct seg);
	h->nslots = GB_METRICS_SERIES;
	h->nbuckets = GB_METRICS_NBUCKETS;
	h->slot_size = sizeof(struct slot);
	h->labels_max = GB_METRICS_LABELS_MAX;
	memcpy(h->bounds, gb_metrics_buckets, sizeof(h->bounds));
}

/* Whether the header read from the file is this layout's. */
static bool
header_ok(const struct hdr *got)
{
	struct hdr want;

	header_make(&want);
	return memcmp(got->magic, MAGIC, sizeof(got->magic)) == 0 &&
	       got->version == want.version && got->header_size == want.header_size &&
	       got->total_size == want.total_size && got->nslots == want.nslots &&
	       got->nbuckets == want.nbuckets && got->slot_size == want.slot_size &&
	       got->labels_max == want.labels_max &&
	       memcmp(got->bounds, want.bounds, sizeof(want.bounds)) == 0;
}

struct opening {
	char shown[SHOW_FILE_MAX + 4];   /* the path, for messages */
	char *why;
	size_t whysize;
};

static enum gb_err
fail(struct opening *o, enum gb_err e, const char *what, int err)
{
	if (o->why != NULL && o->whysize > 0) {
		if (err != 0)
			snprintf(o->why, o->whysize, "%s: %s: %s", o->shown, what, strerror(err));
		else
			snprintf(o->why, o->whysize, "%s: %s", o->shown, what);
	}
	return e;
}

/* Opens path, creating it with mode 0660 whatever the umask; never
 * through a symbolic link.  -1 with errno set on failure. */
static int
open_file(const char *path)
{
	const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
	int fd, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((fd = open(path, flags | O_CREAT | O_EXCL, 0660)) >= 0) {
			if (fchmod(fd, 0660) != 0) {
				int err = errno;

				close(fd);
				errno = err;
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -1;
		/* there already (or a symbolic link: ELOOP) */
		if ((fd = open(path, flags)) >= 0 || errno != ENOENT)
			return fd;
		/* removed in between: once more */
	}
	errno = EAGAIN;
	return -1;
}

static int
lock(int fd, int op)
{
	int rc;

	while ((rc = flock(fd, op)) != 0 && errno == EINTR)
		;
	return rc;
}

/* Maps fd, laying the file out anew when it is not this layout; called
 * with the flock held. */
static enum gb_err
map_file(struct opening *o, int fd, struct seg **out)
{
	struct stat st;
	struct hdr h;
	struct seg *m;
	ssize_t n;
	bool fresh = false;
	int err;

	if (fstat(fd, &st) != 0)
		return fail(o, GB_ESYS, "cannot stat", errno);
	if (!S_ISREG(st.st_mode))
		return fail(o, GB_ESYS, "is not a regular file", 0);
	memset(&h, 0, sizeof(h));
	if (st.st_size == (off_t)sizeof(struct seg)) {
		while ((n = pread(fd, &h, sizeof(h), 0)) < 0 && errno == EINTR)
			;
		if (n < 0)
			return fail(o, GB_ESYS, "cannot read", errno);
		fresh = (size_t)n != sizeof(h) || !header_ok(&h);
	} else {
		fresh = true;
	}
	/* Down to nothing first: a file of another layout leaves no byte
	 * behind to be misread as a counter. */
	if (fresh && (ftruncate(fd, 0) != 0 || ftruncate(fd, sizeof(struct seg)) != 0))
		return fail(o, GB_ESYS, "cannot size", errno);
	/* The blocks now, not at a first touch: on a full tmpfs that would
	 * be a SIGBUS in a serving process. */
	if ((err = posix_fallocate(fd, 0, sizeof(struct seg))) != 0)
		return fail(o, GB_ESYS, "cannot allocate", err);
	m = mmap(NULL, sizeof(struct seg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return fail(o, errno == ENOMEM ? GB_ENOMEM : GB_ESYS, "cannot map", errno);
	if (fresh) {
		/* the magic last: a layout cut short is laid out again */
		header_make(&h);
		memcpy(&m->h, &h, offsetof(struct hdr, dropped));
		atomic_store_explicit(&m->h.dropped, 0, memory_order_relaxed);
		memcpy(m->h.magic, MAGIC, sizeof(m->h.magic));
	}
	*out = m;
	return GB_OK;
}

enum gb_err
gb_metrics_open(const char *dir, char *why, size_t whysize)
{
	char path[PATH_MAX];
	struct opening o;
	struct seg *m = NULL;
	enum gb_err e;
	int fd, n, err;

	gb_metrics_close();
	if (why != NULL && whysize > 0)
		why[0] = '\0';
	memset(&o, 0, sizeof(o));
	o.why = why;
	o.whysize = whysize;
	n = snprintf(path, sizeof(path), "%s/%s", str(dir), GB_METRICS_FILE);
	gb_show(o.shown, sizeof(o.shown), path, n > 0 ? strnlen(path, sizeof(path)) : 0,
	        SHOW_FILE_MAX);
	if (dir == NULL || dir[0] == '\0')
		return fail(&o, GB_ESYS, "no directory given", 0);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fail(&o, GB_ESYS, "the path is too long", 0);
	if ((fd = open_file(path)) < 0) {
		err = errno;
		if (err == ELOOP)
			return fail(&o, GB_ESYS, "is a symbolic link, refused", 0);
		return fail(&o, GB_ESYS, "cannot open", err);
	}
	if (lock(fd, LOCK_EX) != 0) {
		e = fail(&o, GB_ESYS, "cannot lock", errno);
		close(fd);
		return e;
	}
	e = map_file(&o, fd, &m);
	lock(fd, LOCK_UN);
	close(fd);              /* the mapping stays */
	if (e != GB_OK)
		return e;
	seg = m;
	if (++gen == 0)
		gen = 1;
	return GB_OK;
}

void
gb_metrics_close(void)
{
	if (seg == NULL)
		return;
	munmap(seg, sizeof(struct seg));
	seg = NULL;
	if (++gen == 0)
		gen = 1;
}

bool
gb_metrics_on(void)
{
	return seg != NULL;
}

/* ---- exposition --------------------------------------------------------- */

/* Values of a series, read with relaxed loads (each exact, together not
 * one instant), summed over the slots of one series. */
struct vals {
	uint64_t value, count, sum_us;
	uint64_t buckets[GB_METRICS_NBUCKETS];
	int64_t gauge;
};

static void
vals_add(struct vals *v, const struct slot *s, bool first)
{
	int64_t g = (int64_t)atomic_load_explicit(&s->value, memory_order_relaxed);
	size_t b;

	v->value += (uint64_t)g;
	v->count += atomic_load_explicit(&s->count, memory_order_relaxed);
	v->sum_us += atomic_load_explicit(&s->sum_us, memory_order_relaxed);
	for (b = 0; b < GB_METRICS_NBUCKETS; b++)
		v->buckets[b] += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
	if (first || g > v->gauge)
		v->gauge = g;
}

struct snap {
	uint32_t fam;
	uint32_t at;
};

static int
cmp_snap(const void *x, const void *y)
{
	const struct snap *a = x, *b = y;

	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	return strncmp(seg->slots[a->at].labels, seg->slots[b->at].labels,
	               GB_METRICS_LABELS_MAX);
}

/* The shortest decimal without an exponent that reads back as x
 * ("0.005", "10", "2.5"). */
static void
le_text(double x, char *buf, size_t size)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, x);
		if (strchr(buf, 'e') == NULL && strtod(buf, NULL) == x)
			return;
	}
	snprintf(buf, size, "%.17g", x);
}

/* name[suffix]{labels[,le="le"]}, no braces when both are empty. */
static void
put_name(struct gb_buf *out, const char *name, const char *suffix, const char *labels,
         const char *le)
{
	gb_buf_puts(out, name);
	gb_buf_puts(out, suffix);
	if (labels[0] == '\0' && le == NULL)
		return;
	gb_buf_putc(out, '{');
	gb_buf_puts(out, labels);
	if (le != NULL) {
		gb_buf_puts(out, labels[0] != '\0' ? ",le=\"" : "le=\"");
		gb_buf_puts(out, le);
		gb_buf_putc(out, '"');
	}
	gb_buf_putc(out, '}');
}

static void
put_head(struct gb_buf *out, const char *name, const char *type, const char *help)
{
	gb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
put_u64_line(struct gb_buf *out, unsigned long long v)
{
	gb_buf_putc(out, ' ');
	gb_buf_put_u64(out, v);
	gb_buf_putc(out, '\n');
}

/* One histogram series.  +Inf and _count are one number: the count read,
 * or the sum of the buckets when a writer between its bucket and its
 * count made that larger; so +Inf == _count and the buckets ascend in
 * every output, whatever the races. */
static void
put_histogram(struct gb_buf *out, const char *name, const char *labels,
              const struct vals *v, char le[][32])
{
	uint64_t cum = 0;
	size_t b;

	for (b = 0; b < GB_METRICS_NBUCKETS; b++) {
		cum += v->buckets[b];
		put_name(out, name, "_bucket", labels, le[b]);
		put_u64_line(out, cum);
	}
	if (v->count > cum)
		cum = v->count;
	put_name(out, name, "_bucket", labels, "+Inf");
	put_u64_line(out, cum);
	put_name(out, name, "_sum", labels, NULL);
	gb_buf_printf(out, " %llu.%06llu\n", (unsigned long long)(v->sum_us / 1000000),
	              (unsigned long long)(v->sum_us % 1000000));
	put_name(out, name, "_count", labels, NULL);
	put_u64_line(out, cum);
}

static void
put_series(struct gb_buf *out, const struct family *f, const char *labels,
           const struct vals *v, char le[][32])
{
	switch (f->kind) {
	case K_COUNTER:
		put_name(out, f->name, "", labels, NULL);
		put_u64_line(out, v->value);
		break;
	case K_GAUGE:
		put_name(out, f->name, "", labels, NULL);
		gb_buf_printf(out, " %lld\n", (long long)v->gauge);
		break;
	case K_HISTOGRAM:
		put_histogram(out, f->name, labels, v, le);
		break;
	}
}

static void
put_escaped(struct gb_buf *out, const char *s)
{
	char u[4];
	size_t ulen;

	while (*s != '\0') {
		s += esc_char(s, u, &ulen);
		gb_buf_append(out, u, ulen);
	}
}

static const char *const kind_names[] = { "counter", "gauge", "histogram" };

enum gb_err
gb_metrics_expose(struct gb_buf *out, const char *version, const char *commit)
{
	char le[GB_METRICS_NBUCKETS][32];
	struct seg *m = seg;
	struct snap *snap;
	struct vals v;
	size_t n = 0, i, j, at;
	unsigned fam;

	if (out == NULL)
		return GB_EINVAL;
	if (m == NULL)
		return GB_ESYS;
	if ((snap = malloc(GB_METRICS_SERIES * sizeof(*snap))) == NULL)
		return GB_ENOMEM;
	for (at = 0; at < GB_METRICS_SERIES; at++) {
		const struct slot *s = &m->slots[at];

		if (atomic_load_explicit(&s->state, memory_order_acquire) != READY)
			continue;
		/* a file written by something else must not make us overrun */
		if (s->family == 0 || s->family >= F_NFAM ||
		    memchr(s->labels, '\0', sizeof(s->labels)) == NULL)
			continue;
		snap[n].fam = s->family;
		snap[n].at = (uint32_t)at;
		n++;
	}
	qsort(snap, n, sizeof(*snap), cmp_snap);
	for (i = 0; i < GB_METRICS_NBUCKETS; i++)
		le_text(gb_metrics_buckets[i], le[i], sizeof(le[i]));

	i = 0;
	for (fam = 1; fam < F_NFAM; fam++) {
		const struct family *f = &families[fam];
		bool any = false;

		put_head(out, f->name, kind_names[f->kind], f->help);
		while (i < n && snap[i].fam == fam) {
			const char *labels = m->slots[snap[i].at].labels;

			/* equal labels twice: a claim given up on (its claimer
			 * stalled); one series, the values summed */
			memset(&v, 0, sizeof(v));
			for (j = i; j < n && snap[j].fam == fam &&
			     strcmp(m->slots[snap[j].at].labels, labels) == 0; j++)
				vals_add(&v, &m->slots[snap[j].at], j == i);
			put_series(out, f, labels, &v, le);
			any = true;
			i = j;
		}
		if (!any && f->nlabels == 0) {
			put_name(out, f->name, "", "", NULL);
			put_u64_line(out, 0);
		}
	}
	put_head(out, DROPPED_NAME, "counter", DROPPED_HELP);
	gb_buf_puts(out, DROPPED_NAME);
	put_u64_line(out, atomic_load_explicit(&m->h.dropped, memory_order_relaxed));
	put_head(out, BUILD_NAME, "gauge", BUILD_HELP);
	gb_buf_puts(out, BUILD_NAME "{version=\"");
	put_escaped(out, version != NULL && version[0] != '\0' ? version : "unknown");
	gb_buf_puts(out, "\",commit=\"");
	put_escaped(out, commit != NULL && commit[0] != '\0' ? commit : "unknown");
	gb_buf_puts(out, "\"} 1\n");
	free(snap);
	return gb_buf_failed(out) ? GB_ENOMEM : GB_OK;
}
