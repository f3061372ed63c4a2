/* gb_metrics.h - counters and histograms in a shared-memory file, updated
 * by every process of every program, read by gerbang-metrics.
 *
 * The segment is RUN_DIR/metrics.v1.shm: a header (magic, layout version,
 * sizes, the histogram bucket bounds) and a fixed table of series.  A
 * series is a metric family and its label values; its slot is found by a
 * hash of both, probing linearly, and claimed once with a compare-and-swap
 * (free -> claiming -> ready).  Values are 64-bit integers updated with
 * atomic adds: no lock on the hot path.  The first process to open a
 * missing, empty or other-version file (under flock) lays it out anew;
 * the others map what is there.  A restarted program maps the same file,
 * so counters survive it; they reset only when the file is removed (a
 * reboot, for a tmpfs RUN_DIR) or its layout version changes.
 *
 * Labels are bounded by construction: route templates, plugin and class
 * names from configuration, methods folded to the usual seven or "OTHER",
 * status codes 100-599 (others counted as 0).  Never raw paths or ids.
 * When the table is full a new series is dropped (and counted in
 * gerbang_metrics_dropped_total), never an existing one.
 *
 * Every function below is a no-op until gb_metrics_open() succeeded, and
 * after gb_metrics_close(); none allocates or blocks on the hot path.
 */
#ifndef GB_METRICS_H
#define GB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gb_buf.h"
#include "gb_err.h"

#define GB_METRICS_VERSION 1            /* with GB_METRICS_FILE's "v1" */
/* The layout version is in the name: after an upgrade the new programs
 * count in a new file while the old ones, until restarted, keep theirs;
 * no process ever maps a layout it does not know. */
#define GB_METRICS_FILE "metrics.v1.shm"
#define GB_METRICS_SERIES 4096          /* slots in the table */
#define GB_METRICS_LABELS_MAX 192       /* bytes of one series' label text */

/* Histogram buckets (seconds, upper bounds, ascending; +Inf implied). */
#define GB_METRICS_NBUCKETS 11
extern const double gb_metrics_buckets[GB_METRICS_NBUCKETS];

/* Maps (creating if needed, mode 0660) dir/GB_METRICS_FILE for this
 * process.  GB_OK; or GB_ESYS / GB_ENOMEM with why naming the file and the
 * reason (then metrics are off in this process, which goes on serving). */
enum gb_err gb_metrics_open(const char *dir, char *why, size_t whysize);
void gb_metrics_close(void);
bool gb_metrics_on(void);

/* One finished request: gerbang_http_requests_total{service,route,method,
 * code} and gerbang_http_request_duration_seconds{service,route}.  route
 * is the route template ("-" when none matched). */
void gb_metrics_http(const char *service, const char *route, const char *method, int code,
                     double seconds);

/* One upstream exchange of gerbang-proxy: gerbang_upstream_requests_total
 * {plugin,code} (code 0: no answer) and gerbang_upstream_duration_seconds
 * {plugin}. */
void gb_metrics_upstream(const char *plugin, int code, double seconds);

/* gerbang_ratelimit_decisions_total{class,decision}; decision is
 * "allowed", "limited", "failed_open" or "failed_closed". */
void gb_metrics_ratelimit(const char *class_name, const char *decision);

/* gerbang_circuit_state{plugin}: 0 closed, 1 half-open, 2 open. */
void gb_metrics_circuit(const char *plugin, int state);

/* gerbang_db_errors_total, gerbang_redis_errors_total. */
void gb_metrics_db_error(void);
void gb_metrics_redis_error(void);

/* gerbang_tasks_total{kind,status}. */
void gb_metrics_task(const char *kind, const char *status);

/* Appends the Prometheus text exposition (format 0.0.4) of everything in
 * the segment to out: one HELP and TYPE per family, families in a fixed
 * order, series sorted, histogram buckets cumulative and ascending with
 * +Inf equal to _count, then _sum and _count; and gerbang_build_info
 * {version,commit} 1.  GB_OK, or GB_ENOMEM (out failed) or GB_ESYS (no
 * segment). */
enum gb_err gb_metrics_expose(struct gb_buf *out, const char *version, const char *commit);

#endif
