/*
 * hostile: run a command (pamtest, in the tests) in the kind of process a PAM module may find
 * itself in, so that a test can show that none of it reaches acred-helper:
 *
 *   hostile COMMAND [ARG...]
 *
 * - descriptors 7 and 9 open without FD_CLOEXEC (9 a socket, 7 a file: /etc/hostname);
 * - every catchable signal blocked (SIGCHLD too), and SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD,
 *   SIGUSR1 ignored;
 * - umask 0;
 * - an environment with more in it than PATH (LD_LIBRARY_PATH, IFS, ACRED_CANARY, ...).
 * Ignored dispositions, the signal mask, the umask and these descriptors all survive execve.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int sv[2];
    if (argc < 2) {
        fprintf(stderr, "usage: hostile COMMAND [ARG...]\n");
        return 2;
    }
    int f = open("/etc/hostname", O_RDONLY);
    if (f < 0 || dup2(f, 7) != 7 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
        dup2(sv[0], 9) != 9) {
        perror("hostile");
        return 2;
    }
    static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        signal(ignored[i], SIG_IGN);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    umask(0);
    setenv("LD_LIBRARY_PATH", "/nonexistent-acred", 1);
    setenv("IFS", " ", 1);
    setenv("ACRED_CANARY", "inherited-environment", 1);
    setenv("HOME", "/root", 1);
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
