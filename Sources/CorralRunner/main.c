// corral-runner: the parent Corral gives every native workload, so that its
// exit status outlives the executor.
//
//   corral-runner --status-fd N [--instance ID] -- PROGRAM [ARGS...]
//   corral-runner job ...   (inside a `corral run` container: job.c)
//
// The executor sets up pinning, cgroups, limits and descriptors, then execs
// this runner, which inherits all of it. The runner starts PROGRAM (same
// process group, same CPUs, same memory policy), waits for it and writes one
// line to descriptor N ("exited CODE" or "signaled SIGNAL", or "exec-failed
// ERRNO") before exiting with the same code. Signals sent to the process group
// reach PROGRAM directly; the runner ignores (and blocks) the usual stop
// signals so that it stays to record the result, and hands PROGRAM one that
// arrived before PROGRAM existed. It uses a few hundred KiB of memory.
#define _GNU_SOURCE
#include "runner.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// No fsync: the status has to outlive the executor (the page cache does
// that), not the machine (a reboot ends the workload too).
static void record(int fd, const char *text) {
    if (fd < 0) return;
    size_t len = strlen(text);
    if (ftruncate(fd, 0) == 0) {
        ssize_t ignored = pwrite(fd, text, len, 0);
        (void)ignored;
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job_main(argc, argv);
    int status_fd = -1;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) {
            status_fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--instance") == 0 && i + 1 < argc) {
            i++;  /* names the workload in /proc/PID/cmdline; nothing else */
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "corral-runner: unknown argument %s\n", argv[i]);
            return 125;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: corral-runner --status-fd N [--instance ID] -- PROGRAM [ARGS...]\n");
        return 125;
    }
    if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);

    // Stop signals are for the command: the runner stays to record its end.
    // (Started by Corral they are already ignored and blocked from exec on.)
    // Blocked as well as ignored, so that one sent before the command exists
    // stays pending here and is handed on once it does (below).
    // Blocked first, then ignored only where they are not already: setting
    // SIG_IGN discards a pending signal, which would lose a stop that came
    // between exec and here.
    static const int stops[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    sigset_t stopset;
    sigemptyset(&stopset);
    for (unsigned k = 0; k < sizeof stops / sizeof stops[0]; k++) sigaddset(&stopset, stops[k]);
    sigprocmask(SIG_BLOCK, &stopset, NULL);
    for (unsigned k = 0; k < sizeof stops / sizeof stops[0]; k++) {
        struct sigaction now;
        if (sigaction(stops[k], NULL, &now) == 0 && now.sa_handler != SIG_IGN) signal(stops[k], SIG_IGN);
    }

    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        record(status_fd, "exec-failed 24\n");
        return 126;
    }
    pid_t child = fork();
    if (child < 0) {
        char line[64];
        snprintf(line, sizeof line, "exec-failed %d\n", errno);
        record(status_fd, line);
        return 126;
    }
    if (child == 0) {
        close(report[0]);
        // The command gets the default dispositions back, then the signals
        // unblocked: one sent to the group since the fork (pending, as it was
        // blocked) takes effect now, before exec.
        for (unsigned k = 0; k < sizeof stops / sizeof stops[0]; k++) signal(stops[k], SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &stopset, NULL);
        execvp(argv[i], &argv[i]);
        int e = errno;
        ssize_t ignored = write(report[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(report[1]);
    signal(SIGPIPE, SIG_IGN);
    // A stop that came before the fork is pending here only (a child does not
    // inherit pending signals): hand it on.
    sigset_t pending;
    if (sigpending(&pending) == 0) {
        for (unsigned k = 0; k < sizeof stops / sizeof stops[0]; k++) {
            if (sigismember(&pending, stops[k])) kill(child, stops[k]);
        }
    }

    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(report[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(report[0]);

    int st = 0;
    while (waitpid(child, &st, 0) < 0) {
        if (errno != EINTR) {
            record(status_fd, "exec-failed 10\n");
            return 126;
        }
    }
    char line[64];
    int code;
    if (n == (ssize_t)sizeof exec_errno) {
        snprintf(line, sizeof line, "exec-failed %d\n", exec_errno);
        code = 127;
    } else if (WIFEXITED(st)) {
        code = WEXITSTATUS(st);
        snprintf(line, sizeof line, "exited %d\n", code);
    } else {
        code = 128 + WTERMSIG(st);
        snprintf(line, sizeof line, "signaled %d\n", WTERMSIG(st));
    }
    record(status_fd, line);
    return code;
}
