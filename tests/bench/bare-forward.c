/* bare-forward: the floor of a libfcgi + libcurl forwarder, for
 * tests/bench/run.sh.
 *
 *   bare-forward SOCKET_PATH UPSTREAM PREFIX [THREADS [HEADER...]]
 *
 * A minimal libfcgi responder: THREADS (default 4) threads each loop on
 * FCGX_Accept_r over one shared listening unix socket, as bare-fcgi does,
 * and forward each request to UPSTREAM (e.g. "http://127.0.0.1:8090/")
 * followed by the request's REQUEST_URI after PREFIX (e.g. "/floor/forward/"),
 * query included.  Each thread owns one curl easy handle, set up once and
 * reused, so its connection cache keeps the upstream connection alive.
 * The upstream's status, Content-Type and body come back; the body goes
 * from curl's write callback straight into the FastCGI stream.  The method
 * and a request body (CONTENT_LENGTH) go through; no client header does.
 * Each HEADER ("Name: value") is sent, as is, with every request: run.sh
 * uses that for a floor that sends the same headers gerbang-proxy adds in
 * gateway_verified mode, to tell their cost (in libcurl, the upstream and
 * nginx) from the cost of the proxy's own work.
 * No auth, no signing, no header filtering, no logging, no allocation per
 * request: whatever gerbang-proxy costs beyond this is the gateway's.
 * SIGTERM ends it at once.  Not built by automake; run.sh compiles it with
 * gcc -O2 $(pkg-config --cflags --libs fcgi libcurl).
 */
#include <curl/curl.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define URL_MAX 8192

static const char *upstream, *prefix;
static char **extra_headers;
static int nextra_headers;
static size_t upstream_len, prefix_len;
static int listen_fd;

struct xfer {
	FCGX_Request *req;
	char status[64];        /* "200 OK", from the status line */
	char content_type[256];
	int began;              /* the CGI head went out */
	long long body_left;    /* of the request body */
};

static void
begin(struct xfer *x)
{
	x->began = 1;
	FCGX_FPrintF(x->req->out, "Status: %s\r\n", x->status[0] != '\0' ? x->status : "502");
	if (x->content_type[0] != '\0')
		FCGX_FPrintF(x->req->out, "Content-Type: %s\r\n", x->content_type);
	FCGX_PutS("\r\n", x->req->out);
}

/* Copies line[v..len) without its line end into dst, if it fits. */
static void
copy_value(char *dst, size_t max, const char *line, size_t v, size_t len)
{
	while (len > v && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len - v < max) {
		memcpy(dst, line + v, len - v);
		dst[len - v] = '\0';
	}
}

/* The status line and Content-Type; every other header is dropped.  A new
 * status line (after a 100 Continue) starts over. */
static size_t
header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, v;
	const char *sp;

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->status[0] = x->content_type[0] = '\0';
		if ((sp = memchr(line, ' ', len)) != NULL)
			copy_value(x->status, sizeof(x->status), line, (size_t)(sp + 1 - line), len);
	} else if (len > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
		for (v = 13; v < len && (line[v] == ' ' || line[v] == '\t'); v++)
			;
		copy_value(x->content_type, sizeof(x->content_type), line, v, len);
	}
	return len;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	if (!x->began)
		begin(x);
	if (FCGX_PutStr(data, (int)(size * n), x->req->out) < 0)
		return 0;       /* the client is gone: curl aborts */
	return size * n;
}

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t want = size * n;
	int got;

	if (x->body_left <= 0)
		return 0;
	if ((long long)want > x->body_left)
		want = (size_t)x->body_left;
	got = FCGX_GetStr(buf, (int)want, x->req->in);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	x->body_left -= got;
	return (size_t)got;
}

static void
fail(FCGX_Request *req, int status)
{
	FCGX_FPrintF(req->out, "Status: %d\r\nContent-Type: application/json\r\n\r\n"
	             "{\"error\":\"upstream\"}", status);
}

static void
forward(FCGX_Request *req, CURL *h, char *url, struct xfer *x)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);
	const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	const char *clen = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	size_t rest;

	if (uri == NULL || strncmp(uri, prefix, prefix_len) != 0 ||
	    (rest = strlen(uri + prefix_len)) >= URL_MAX - upstream_len) {
		fail(req, 404);
		return;
	}
	memcpy(url + upstream_len, uri + prefix_len, rest + 1);
	memset(x, 0, sizeof(*x));
	x->req = req;
	x->body_left = clen != NULL && *clen != '\0' ? strtoll(clen, NULL, 10) : 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* Back to a plain GET, then what this request needs. */
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	if (method != NULL && strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (x->body_left > 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_left);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (method != NULL && strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(h) == CURLE_OK || x->began) {
		if (!x->began)
			begin(x);       /* no body: 204, HEAD */
		return;
	}
	fail(req, 502);
}

static void *
serve(void *arg)
{
	FCGX_Request req;
	struct xfer x;
	char url[URL_MAX];
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL, *l;
	int i;

	(void)arg;
	if (h == NULL || FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		fprintf(stderr, "bare-forward: cannot set up a serving thread\n");
		exit(70);
	}
	memcpy(url, upstream, upstream_len + 1);
	/* Set once for the handle's life; only the URL and method change. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	/* As gerbang-proxy, no "Expect: 100-continue" and no "Accept: any";
	 * then the HEADER arguments. */
	for (i = -2; i < nextra_headers; i++) {
		l = curl_slist_append(hdrs, i == -2 ? "Expect:" : i == -1 ? "Accept:" :
		                      extra_headers[i]);
		if (l == NULL) {
			fprintf(stderr, "bare-forward: out of memory\n");
			exit(70);
		}
		hdrs = l;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	while (FCGX_Accept_r(&req) >= 0) {
		forward(&req, h, url, &x);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	long threads = 4, i;
	pthread_t *tid;

	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET_PATH UPSTREAM PREFIX [THREADS [HEADER...]]\n",
		        argv[0]);
		return 64;
	}
	upstream = argv[2];
	upstream_len = strlen(upstream);
	prefix = argv[3];
	prefix_len = strlen(prefix);
	if (upstream_len == 0 || upstream_len >= URL_MAX / 2) {
		fprintf(stderr, "%s: UPSTREAM must be 1..%d bytes\n", argv[0], URL_MAX / 2 - 1);
		return 64;
	}
	if (argc > 5) {
		extra_headers = argv + 5;
		nextra_headers = argc - 5;
	}
	if (argc >= 5) {
		threads = strtol(argv[4], NULL, 10);
		if (threads < 1 || threads > 256) {
			fprintf(stderr, "%s: THREADS must be 1..256\n", argv[0]);
			return 64;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || FCGX_Init() != 0) {
		fprintf(stderr, "%s: cannot initialise curl or libfcgi\n", argv[0]);
		return 70;
	}
	/* FCGX_Init catches SIGTERM to set a flag the blocked accepts never
	 * see: give it back its default action, so SIGTERM ends us. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	unlink(argv[1]);
	listen_fd = FCGX_OpenSocket(argv[1], 1024);
	if (listen_fd < 0) {
		fprintf(stderr, "%s: cannot listen on %s\n", argv[0], argv[1]);
		return 69;
	}
	/* nginx workers run as www-data. */
	if (chmod(argv[1], 0666) != 0) {
		perror("chmod");
		return 69;
	}
	tid = calloc((size_t)threads, sizeof(*tid));
	if (tid == NULL)
		return 70;
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, serve, NULL) != 0) {
			fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
			return 70;
		}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
