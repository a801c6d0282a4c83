/*
 * acred-rusage: run a program and record what it cost, for `make bench`.
 *
 *     acred-rusage OUTFILE PROGRAM [ARGUMENTS...]
 *
 * PROGRAM runs with this process's descriptors and environment; once it has exited, one line
 * "MAXRSS_KIB USER_MS SYS_MS" (its peak resident set, and its CPU time) is appended to OUTFILE,
 * and acred-rusage exits as PROGRAM did. The benchmark puts it in front of acred-helper, so that
 * the helper's peak memory is measured in a real login.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: acred-rusage OUTFILE PROGRAM [ARGUMENTS...]\n", stderr);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return 127;
    char line[128];
    int n = snprintf(line, sizeof(line), "%ld %.2f %.2f\n", ru.ru_maxrss, ms(ru.ru_utime),
                     ms(ru.ru_stime));
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            n = -1;
        close(fd);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
