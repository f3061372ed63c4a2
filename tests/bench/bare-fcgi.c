/* bare-fcgi: the floor of the FastCGI architecture, for tests/bench/run.sh.
 *
 *   bare-fcgi SOCKET_PATH [THREADS]
 *
 * A minimal libfcgi responder: THREADS (default 4) threads each loop on
 * FCGX_Accept_r over one shared listening unix socket and answer a fixed
 * JSON body about the size of gerbang's /healthz envelope.  No parsing, no
 * logging, no allocation per request: whatever gerbang-health costs beyond
 * this is ours.  SIGTERM ends it at once.  Not built by automake;
 * run.sh compiles it with gcc -O2 $(pkg-config --cflags --libs fcgi).
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 139 bytes, as gerbang-health's /healthz envelope. */
static const char body[] =
	"{\"ok\":true,\"message\":\"alive\",\"data\":{\"status\":\"ok\","
	"\"timestamp\":\"2026-01-01T00:00:00.000Z\"},"
	"\"request_id\":\"00000000000000000000000000000000\"}";

static char response[512];
static int response_len;
static int listen_fd;

static void *
serve(void *arg)
{
	FCGX_Request req;

	(void)arg;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(response, response_len, req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	long threads = 4, i;
	pthread_t *tid;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SOCKET_PATH [THREADS]\n", argv[0]);
		return 64;
	}
	if (argc == 3) {
		threads = strtol(argv[2], NULL, 10);
		if (threads < 1 || threads > 256) {
			fprintf(stderr, "%s: THREADS must be 1..256\n", argv[0]);
			return 64;
		}
	}
	response_len = snprintf(response, sizeof(response),
	                        "Status: 200 OK\r\n"
	                        "Content-Type: application/json\r\n"
	                        "Content-Length: %zu\r\n"
	                        "\r\n%s", sizeof(body) - 1, body);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "%s: FCGX_Init failed\n", argv[0]);
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
