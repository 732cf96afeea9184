/* A custom Lambda runtime as one static binary: the Runtime API loop over a
 * plain socket. It answers every event with {"echo": <event>}. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_api(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    char host[64] = "127.0.0.1";
    int port = 9001;
    if (api) sscanf(api, "%63[^:]:%d", host, &port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
    return fd;
}

/* Sends a request and reads the whole response into buf; returns the body, sets the request id if asked. */
static char *http(const char *method, const char *path, const char *body, char *buf, size_t cap, char *request_id) {
    int fd = connect_api();
    char head[512];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     method, path, body ? strlen(body) : 0);
    write(fd, head, (size_t)n);
    if (body) write(fd, body, strlen(body));
    size_t len = 0;
    ssize_t got;
    while (len < cap - 1 && (got = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)got;
    buf[len] = 0;
    close(fd);
    if (request_id) {
        char *h = strcasestr(buf, "Lambda-Runtime-Aws-Request-Id:");
        if (h) sscanf(h + strlen("Lambda-Runtime-Aws-Request-Id:"), " %63[^\r\n]", request_id);
    }
    char *sep = strstr(buf, "\r\n\r\n");
    return sep ? sep + 4 : buf + len;
}

int main(void) {
    static char buf[1 << 20], out[(1 << 20) + 64];
    for (;;) {
        char id[64] = "";
        char *event = http("GET", "/2018-06-01/runtime/invocation/next", NULL, buf, sizeof buf, id);
        fprintf(stderr, "static runtime got %s\n", id);
        snprintf(out, sizeof out, "{\"echo\":%s}", *event ? event : "null");
        char path[160];
        snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", id);
        http("POST", path, out, buf, sizeof buf, NULL);
    }
}
