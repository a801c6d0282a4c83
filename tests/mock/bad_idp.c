/*
 * bad_idp: an identity provider that misbehaves, for the pam_acred tests (127.0.0.1 only).
 *
 *   bad_idp --cert PEM --key PEM (--mode MODE | --mode-file FILE) [--port N] [--port-file FILE]
 *           [--log FILE] [--issuer-path PATH] [--discovery-ok] [--redirect-to URL]
 *
 * Whatever path is asked (discovery, JWKS, userinfo, obtainAccessCredential), the answer is
 * the misbehaviour MODE; with --mode-file the mode is read from FILE at every request, so one
 * server can play them all. With --discovery-ok, PATH/.well-known/openid-configuration is
 * answered correctly (issuer https://127.0.0.1:PORT + PATH, every endpoint on this server), so
 * the misbehaviour hits the JWKS. The certificate is --cert: the tests give it the wrong-host,
 * self-signed and expired ones of mkcerts.sh.
 *
 * MODE:
 *   hang-tcp       accept the TCP connection and never say a word (no TLS handshake); only as
 *                  --mode, since it needs no HTTP server at all
 *   hang           read the request and never answer
 *   drip           200 with a JSON body, one byte per second
 *   500 502 503    that status with a JSON error body; 500-html: an HTML page
 *   401 403        that status with an IDaaS JSON error body; 401-text, 403-text: plain text
 *   malformed      200 with JSON cut in the middle
 *   wrong-types    200, the right names with values of the wrong type
 *   missing-fields 200, a JSON object without the fields that matter
 *   huge           200 with a 10 MB body (Content-Length given)
 *   huge-chunked   200 with a 10 MB body (chunked, no length)
 *   redirect-http  302 to the same path over http://
 *   redirect-host  302 to --redirect-to URL + the same path and query (another host)
 *   anything else  404
 *
 * The log gets one line per request: mode, method, path and whether a bearer token came (never
 * the token). SIGTERM or SIGINT ends the server at once, hung connections and all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define HUGE_BODY (10 * 1024 * 1024)

static struct {
    const char *cert, *key, *mode, *mode_file, *port_file, *log, *issuer_path, *redirect_to;
    int discovery_ok;
    unsigned port;
    char *cert_pem, *key_pem;
    char issuer[512];
    FILE *logf;
    pthread_mutex_t lock;
} g = {.issuer_path = "/api/v2/iauths_system/oauth2", .lock = PTHREAD_MUTEX_INITIALIZER};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bad_idp: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* the mode for this request: --mode, or the first word of --mode-file */
static void current_mode(char *out, size_t outlen)
{
    if (g.mode != NULL) {
        snprintf(out, outlen, "%s", g.mode);
        return;
    }
    char *text = read_text(g.mode_file);
    snprintf(out, outlen, "%s", text ? text : "503");
    free(text);
    out[strcspn(out, " \t\r\n")] = '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* what kind of endpoint the path is, to shape wrong answers like the real ones */
enum endpoint { EP_DISCOVERY, EP_JWKS, EP_USERINFO, EP_OBTAIN, EP_OTHER };
static enum endpoint endpoint_of(const char *url)
{
    if (ends_with(url, "/.well-known/openid-configuration"))
        return EP_DISCOVERY;
    if (ends_with(url, "/jwks"))
        return EP_JWKS;
    if (ends_with(url, "/userinfo"))
        return EP_USERINFO;
    if (strstr(url, "obtainAccessCredential") != NULL)
        return EP_OBTAIN;
    return EP_OTHER;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "x-acs-request-id", "BAD-IDP-0001");
    if (location != NULL)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- bodies that stream ------------------------------------------------------------------ */

static ssize_t drip(void *cls, uint64_t pos, char *buf, size_t max)
{
    static const char body[] = "{\"issuer\":\"https://127.0.0.1/drip\",\"keys\":[]}";
    if (pos >= sizeof(body) - 1)
        return MHD_CONTENT_READER_END_OF_STREAM;
    sleep(1);
    buf[0] = body[pos];
    return 1;
}

static ssize_t zeros(void *cls, uint64_t pos, char *buf, size_t max)
{
    if (pos >= HUGE_BODY)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = HUGE_BODY - pos < max ? (size_t)(HUGE_BODY - pos) : max;
    memset(buf, ' ', n);
    if (pos == 0 && n > 0)
        buf[0] = '[';
    return (ssize_t)n;
}

static enum MHD_Result queue_stream(struct MHD_Connection *c, uint64_t size, size_t block,
                                    MHD_ContentReaderCallback cb)
{
    struct MHD_Response *r = MHD_create_response_from_callback(size, block, cb, NULL, NULL);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- the answers ------------------------------------------------------------------------- */

static const char *wrong_types(enum endpoint ep)
{
    switch (ep) {
    case EP_DISCOVERY:
        return "{\"issuer\":42,\"jwks_uri\":[\"https://127.0.0.1/jwks\"],\"userinfo_endpoint\":{}}";
    case EP_JWKS:
        return "{\"keys\":{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"n\":1,\"e\":2}}";
    case EP_USERINFO:
        return "[\"sub\",\"alice\"]";
    default:
        return "{\"cloudAccountRoleAccessCredential\":{\"alibabaCloudStsToken\":{\"accessKeyId\":1,"
               "\"accessKeySecret\":true,\"securityToken\":[],\"expiration\":1893456000}}}";
    }
}

static const char *missing_fields(enum endpoint ep)
{
    switch (ep) {
    case EP_DISCOVERY:
        return g.issuer[0] ? NULL : "{}"; /* NULL: issuer only, made below */
    case EP_JWKS:
        return "{\"keys\":[]}";
    case EP_USERINFO:
        return "{}";
    default:
        return "{\"cloudAccountRoleAccessCredential\":{\"alibabaCloudStsToken\":"
               "{\"accessKeyId\":\"STS.bad\"}}}";
    }
}

static void discovery_doc(char *out, size_t outlen, int complete)
{
    if (!complete) {
        snprintf(out, outlen, "{\"issuer\":\"%s\"}", g.issuer);
        return;
    }
    snprintf(out, outlen,
             "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\",\"userinfo_endpoint\":\"%s/userinfo\","
             "\"token_endpoint\":\"%s/token\",\"device_authorization_endpoint\":\"%s/device\","
             "\"id_token_signing_alg_values_supported\":[\"RS256\",\"ES256\"]}",
             g.issuer, g.issuer, g.issuer, g.issuer, g.issuer);
}

static void log_request(const char *mode, const char *method, const char *url, int bearer)
{
    if (g.logf == NULL)
        return;
    pthread_mutex_lock(&g.lock);
    fprintf(g.logf, "mode=%s method=%s path=%s bearer=%s\n", mode, method, url,
            bearer ? "yes" : "no");
    fflush(g.logf);
    pthread_mutex_unlock(&g.lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    static int first;
    char mode[64], doc[4096], where[4096];
    if (*state == NULL) { /* headers only; the (discarded) body comes next */
        *state = &first;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    current_mode(mode, sizeof(mode));
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    log_request(mode, method, url, auth != NULL && strncmp(auth, "Bearer ", 7) == 0);
    enum endpoint ep = endpoint_of(url);

    if (g.discovery_ok && ep == EP_DISCOVERY) {
        discovery_doc(doc, sizeof(doc), 1);
        return queue(c, MHD_HTTP_OK, "application/json", doc, NULL);
    }
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                "cloudAccountRoleExternalId");
    if (strcmp(mode, "hang") == 0) {
        for (;;)
            pause(); /* SIGTERM ends the process */
    }
    if (strcmp(mode, "drip") == 0)
        return queue_stream(c, MHD_SIZE_UNKNOWN, 1, drip);
    if (strcmp(mode, "huge") == 0)
        return queue_stream(c, HUGE_BODY, 64 * 1024, zeros);
    if (strcmp(mode, "huge-chunked") == 0)
        return queue_stream(c, MHD_SIZE_UNKNOWN, 64 * 1024, zeros);
    if (strcmp(mode, "500-html") == 0)
        return queue(c, 500, "text/html", "<html><body>Internal Server Error</body></html>", NULL);
    if (strcmp(mode, "401-text") == 0 || strcmp(mode, "403-text") == 0)
        return queue(c, mode[2] == '1' ? 401 : 403, "text/plain", "Forbidden\n", NULL);
    if (strcmp(mode, "401") == 0 || strcmp(mode, "403") == 0)
        return queue(c, mode[2] == '1' ? 401 : 403, "application/json",
                     "{\"error\":\"invalid_token\",\"error_description\":\"the token is not "
                     "accepted\",\"requestId\":\"BAD-IDP-0001\"}",
                     NULL);
    if (strcmp(mode, "500") == 0 || strcmp(mode, "502") == 0 || strcmp(mode, "503") == 0)
        return queue(c, (unsigned)atoi(mode), "application/json",
                     "{\"Code\":\"ServiceUnavailable\",\"Message\":\"try again later\","
                     "\"RequestId\":\"BAD-IDP-0001\"}",
                     NULL);
    if (strcmp(mode, "malformed") == 0)
        return queue(c, MHD_HTTP_OK, "application/json",
                     "{\"issuer\":\"https://127.0.0.1\",\"keys\":[{\"kty\":\"RSA\",", NULL);
    if (strcmp(mode, "wrong-types") == 0)
        return queue(c, MHD_HTTP_OK, "application/json", wrong_types(ep), NULL);
    if (strcmp(mode, "missing-fields") == 0) {
        const char *body = missing_fields(ep);
        if (body == NULL) {
            discovery_doc(doc, sizeof(doc), 0);
            body = doc;
        }
        return queue(c, MHD_HTTP_OK, "application/json", body, NULL);
    }
    if (strcmp(mode, "redirect-http") == 0 || strcmp(mode, "redirect-host") == 0) {
        if (strcmp(mode, "redirect-http") == 0)
            snprintf(where, sizeof(where), "http://127.0.0.1:%u%s", g.port, url);
        else
            snprintf(where, sizeof(where), "%s%s%s%s", g.redirect_to ? g.redirect_to : "", url,
                     q ? "?cloudAccountRoleExternalId=" : "", q ? q : "");
        return queue(c, 302, "application/json", "{}", where);
    }
    return queue(c, MHD_HTTP_NOT_FOUND, "application/json",
                 "{\"error\":\"not_found\",\"error_description\":\"no such path here\"}", NULL);
}

/* --- hang-tcp: a listener that accepts and never speaks ------------------------------------ */

static int listen_socket(unsigned *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) != 0)
        die("cannot listen on 127.0.0.1:%u: %s", *port, strerror(errno));
    *port = ntohs(sa.sin_port);
    return s;
}

static void *accept_forever(void *arg)
{
    int s = *(int *)arg;
    for (;;) {
        int c = accept(s, NULL, NULL); /* kept open, never read: the peer waits for ever */
        if (c >= 0)
            log_request("hang-tcp", "-", "-", 0);
    }
    return NULL;
}

static void write_port_file(unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", g.port_file);
    FILE *f = fopen(tmp, "we");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, g.port_file))
        die("cannot write %s", g.port_file);
}

static void parse_args(int argc, char **argv)
{
    enum { O_CERT = 256, O_KEY, O_MODE, O_MODEF, O_PORT, O_PORTF, O_LOG, O_IPATH, O_DISC, O_REDIR };
    static const struct option lo[] = {
        {"cert", required_argument, NULL, O_CERT},      {"key", required_argument, NULL, O_KEY},
        {"mode", required_argument, NULL, O_MODE},      {"mode-file", required_argument, NULL, O_MODEF},
        {"port", required_argument, NULL, O_PORT},      {"port-file", required_argument, NULL, O_PORTF},
        {"log", required_argument, NULL, O_LOG},        {"issuer-path", required_argument, NULL, O_IPATH},
        {"discovery-ok", no_argument, NULL, O_DISC},    {"redirect-to", required_argument, NULL, O_REDIR},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        switch (c) {
        case O_CERT: g.cert = optarg; break;
        case O_KEY: g.key = optarg; break;
        case O_MODE: g.mode = optarg; break;
        case O_MODEF: g.mode_file = optarg; break;
        case O_PORT: g.port = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_PORTF: g.port_file = optarg; break;
        case O_LOG: g.log = optarg; break;
        case O_IPATH: g.issuer_path = optarg; break;
        case O_DISC: g.discovery_ok = 1; break;
        case O_REDIR: g.redirect_to = optarg; break;
        default: die("usage: bad_idp --cert PEM --key PEM (--mode M | --mode-file F) [--port N] "
                     "[--port-file F] [--log F] [--issuer-path P] [--discovery-ok] "
                     "[--redirect-to URL]");
        }
    }
    if (optind != argc || (g.mode == NULL) == (g.mode_file == NULL))
        die("exactly one of --mode and --mode-file, and no other arguments");
    if ((g.mode == NULL || strcmp(g.mode, "hang-tcp") != 0) && (g.cert == NULL || g.key == NULL))
        die("--cert and --key are required");
}

int main(int argc, char **argv)
{
    sigset_t set;
    int sig;
    parse_args(argc, argv);
    if (g.log != NULL && (g.logf = fopen(g.log, "ae")) == NULL)
        die("cannot open %s: %s", g.log, strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it; main takes the signals */

    unsigned port = g.port;
    if (g.mode != NULL && strcmp(g.mode, "hang-tcp") == 0) {
        static int s;
        pthread_t t;
        s = listen_socket(&port);
        if (pthread_create(&t, NULL, accept_forever, &s) != 0)
            die("pthread_create");
    } else {
        if ((g.cert_pem = read_text(g.cert)) == NULL || (g.key_pem = read_text(g.key)) == NULL)
            die("cannot read --cert or --key");
        int s = listen_socket(&port); /* bound first, so the issuer can name the port */
        g.port = port;
        snprintf(g.issuer, sizeof(g.issuer), "https://127.0.0.1:%u%s", port, g.issuer_path);
        struct MHD_Daemon *d = MHD_start_daemon(
            MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
            NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, s,
            MHD_OPTION_HTTPS_MEM_CERT, g.cert_pem, MHD_OPTION_HTTPS_MEM_KEY, g.key_pem,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
        if (d == NULL)
            die("cannot start the HTTPS server");
    }
    if (g.port_file != NULL)
        write_port_file(port);
    while (sigwait(&set, &sig) != 0)
        ;
    _exit(0); /* hung connections and all */
}
