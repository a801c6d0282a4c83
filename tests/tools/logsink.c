/*
 * logsink SOCKET OUTFILE: a syslog receiver for tests. Binds a unix datagram socket (inside the
 * tests' private mount namespace it stands at /dev/log) and appends every message it gets to
 * OUTFILE, one per line, flushed at once. Ends on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: logsink SOCKET OUTFILE\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "logsink: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    FILE *out = fopen(argv[2], "a");
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (out == NULL || fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "logsink: %s\n", strerror(errno));
        return 1;
    }
    chmod(argv[1], 0666);
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    static char buf[65536];
    while (!stop) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
            n--;
        fwrite(buf, 1, (size_t)n, out);
        fputc('\n', out);
        fflush(out);
    }
    close(fd);
    unlink(argv[1]);
    fclose(out);
    return 0;
}
