/* lib/http against a scripted HTTP server on loopback: answers, caps, the address check, multi. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"
#include "http/http.h"

static int	 lfd;
static int	 port;

/*
 * Serves connections until told to stop: the request path picks the
 * answer.  /json: 200 with a JSON object; /big: 200 with 100 kB;
 * /status: 404 with a JSON error; /close: closes without answering.
 */
static void *
serve(void *arg)
{
	(void)arg;
	for (;;) {
		char	 buf[8192], head[256];
		int	 c;
		ssize_t	 n, got = 0;
		const char *body = "{\"ok\":true}";
		static char big[100 * 1024 + 1];
		int	 status = 200;

		if ((c = accept(lfd, NULL, NULL)) == -1)
			return NULL;
		/* Reads up to the end of the headers (bodies here are small and sent at once). */
		while (got < (ssize_t)sizeof(buf) - 1 &&
		    (n = read(c, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
			got += n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[got] = '\0';
		if (strncmp(buf, "GET /stop ", 10) == 0) {
			close(c);
			return NULL;
		}
		if (strstr(buf, " /close ") != NULL) {
			close(c);
			continue;
		}
		if (strstr(buf, " /big ") != NULL) {
			memset(big, 'x', sizeof(big) - 1);
			body = big;
		} else if (strstr(buf, " /status ") != NULL) {
			status = 404;
			body = "{\"errcode\":\"M_NOT_FOUND\"}";
		} else if (strstr(buf, "POST /echo ") != NULL) {
			char	*b = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
			long	 want = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;

			/* The body may come after the headers, in another read. */
			while (b != NULL && got - (b + 4 - buf) < want && got < (ssize_t)sizeof(buf) - 1 &&
			    (n = read(c, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
				got += n;
				buf[got] = '\0';
			}
			body = b != NULL ? b + 4 : "";
		}
		snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", status, strlen(body));
		/* A short write is the client's failure to see, not the server's. */
		if (write(c, head, strlen(head)) > 0)
			(void)!write(c, body, strlen(body));
		close(c);
	}
}

static int
get(const char *path, const struct mhttp_allow *allow, size_t max, struct mhttp_req *r)
{
	static char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	memset(r, 0, sizeof(*r));
	r->url = url;
	r->allow = allow;
	r->max_bytes = max;
	r->timeout_ms = 5000;
	return mhttp_perform(r);
}

int
main(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	struct mhttp_allow	 lo, none;
	struct mhttp_req	 r, many[3];
	pthread_t		 th;
	json_t			*j;
	char			 urls[3][128];

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(lfd, 16) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) == -1) {
		fprintf(stderr, "FAIL: cannot listen\n");
		return 1;
	}
	port = ntohs(sa.sin_port);
	pthread_create(&th, NULL, serve, NULL);
	mhttp_allow_parse("127.0.0.0/8", &lo);
	mhttp_allow_parse("", &none);

	/* Loopback is refused without the allowlist, before any byte is sent. */
	CHECK(get("/json", &none, 0, &r) == -1 && strstr(r.err, "not allowed") != NULL);
	CHECK(get("/json", NULL, 0, &r) == -1);
	mhttp_req_fini(&r);
	/* Allowed: the answer and its JSON. */
	CHECK(get("/json", &lo, 0, &r) == 0 && r.status == 200);
	CHECK((j = mhttp_json(&r)) != NULL && json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	mhttp_req_fini(&r);
	/* Any status is an answer. */
	CHECK(get("/status", &lo, 0, &r) == 0 && r.status == 404);
	mhttp_req_fini(&r);
	/* Over the size cap: no answer. */
	CHECK(get("/big", &lo, 1000, &r) == -1 && r.resp == NULL && r.status == 0);
	mhttp_req_fini(&r);
	CHECK(get("/big", &lo, 200 * 1024, &r) == 0 && r.respsz == 100 * 1024);
	mhttp_req_fini(&r);
	/* A connection closed without an answer. */
	CHECK(get("/close", &lo, 0, &r) == -1 && r.err[0] != '\0');
	mhttp_req_fini(&r);
	/* A body goes out as POST. */
	{
		static char url[128];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
		memset(&r, 0, sizeof(r));
		r.url = url;
		r.allow = &lo;
		r.body = "{\"a\":1}";
		r.bodysz = 7;
		CHECK(mhttp_perform(&r) == 0 && r.status == 200 && r.resp != NULL &&
		    strcmp(r.resp, "{\"a\":1}") == 0);
		mhttp_req_fini(&r);
	}
	/* Several at once: each gets its own outcome. */
	memset(many, 0, sizeof(many));
	snprintf(urls[0], sizeof(urls[0]), "http://127.0.0.1:%d/json", port);
	snprintf(urls[1], sizeof(urls[1]), "http://127.0.0.1:%d/status", port);
	snprintf(urls[2], sizeof(urls[2]), "http://127.0.0.1:%d/json", port);
	for (int i = 0; i < 3; i++) {
		many[i].url = urls[i];
		many[i].allow = i == 2 ? &none : &lo;
	}
	{
		struct mhttp_req *ptrs[3] = { &many[0], &many[1], &many[2] };

		CHECK(mhttp_perform_many(ptrs, 3) == 0);
	}
	CHECK(many[0].status == 200 && many[1].status == 404 && many[2].status == 0);
	CHECK(strstr(many[2].err, "not allowed") != NULL);
	for (int i = 0; i < 3; i++)
		mhttp_req_fini(&many[i]);

	get("/stop", &lo, 0, &r);
	mhttp_req_fini(&r);
	pthread_join(th, NULL);
	close(lfd);
	return failed;
}
