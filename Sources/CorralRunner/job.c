// corral-runner job: the first process of a `corral run` container.
//
//   corral-runner job --uid U --gid G [--groups G1,G2] [--grace-ms N]
//                     [--hook-timeout-ms N] [--hooks DIR] -- PROGRAM [ARGS...]
//
// It starts as root with the few capabilities the container was given and
// runs, in order: DIR/container_startup and DIR/job_startup_root (as root),
// DIR/job_startup_user (as the user), PROGRAM (as the user),
// DIR/job_cleanup_user (as the user) and DIR/job_cleanup_root (as root).
// A hook that is not there is skipped. "As the user" is setgroups, setgid,
// setuid in a fresh child: from a non-zero uid the kernel clears every
// capability, and the container's no-new-privileges keeps setuid files
// from granting any back.
//
// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 (from `corral run`,
// through the engine) go to the step that runs (its whole process group);
// a cancelled job gets SIGKILL after the grace period. A startup hook that
// fails, times out or is cancelled means the job is not run. Cleanup hooks
// run whatever happened, each bounded by the hook timeout, and signals that
// come during cleanup are not passed on (cleanup is what they wait for).
//
// Exit status: the job's, 128+N when it was killed by signal N; 125 when a
// startup hook failed or the job could not be set up (the runner's own
// failure, as Docker and Podman report theirs); 126/127 when PROGRAM could
// not be executed / was not found.
#define _GNU_SOURCE
#include "runner.h"
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_GROUPS = 256 };

static uid_t job_uid;
static gid_t job_gid;
static gid_t groups[MAX_GROUPS];
static int ngroups;
static long grace_ms = 10000;
static long hook_timeout_ms = 300000;
static const char *hooks_dir = "/.corral/hooks";
/// The first stop signal received (0: none), passed on to the job.
static int cancelled;

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int is_forwarded(int sig) {
    for (unsigned k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++)
        if (forwarded[k] == sig) return 1;
    return 0;
}

typedef enum { AS_ROOT, AS_USER } who_t;
typedef enum { STEP_STARTUP, STEP_JOB, STEP_CLEANUP } phase_t;

/// The step's result: its wait status, and whether it ran past its time limit.
typedef struct {
    int status;
    int timed_out;
} outcome_t;

static void become_user(void) {
    if (setgroups((size_t)ngroups, groups) != 0 || setgid(job_gid) != 0 || setuid(job_uid) != 0) {
        fprintf(stderr, "[corral] cannot switch to uid %u gid %u: %s\n", (unsigned)job_uid, (unsigned)job_gid, strerror(errno));
        _exit(125);
    }
    // Belt and braces: a uid that did not change would run the job as root.
    if (getuid() != job_uid || geteuid() != job_uid || (job_uid != 0 && setuid(0) == 0)) {
        fprintf(stderr, "[corral] the switch to uid %u did not hold\n", (unsigned)job_uid);
        _exit(125);
    }
}

/// Runs argv in a child of its own process group and waits for it, passing
/// stop signals on (not during cleanup), killing it after the grace period
/// once cancelled, and after `limit_ms` (0: no limit).
static outcome_t run_step(char *const argv[], who_t who, phase_t phase, long limit_ms, sigset_t *waitset) {
    outcome_t out = {0, 0};
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "[corral] cannot fork: %s\n", strerror(errno));
        out.status = 125 << 8;
        return out;
    }
    if (child == 0) {
        setpgid(0, 0);
        for (unsigned k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++) signal(forwarded[k], SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (who == AS_USER) become_user();
        execvp(argv[0], argv);
        int e = errno;
        if (e == ENOEXEC) {
            // A hook without a #! line: a shell script.
            char *sh[] = {"/bin/sh", argv[0], NULL};
            execv(sh[0], sh);
        }
        fprintf(stderr, "[corral] cannot run %s: %s\n", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    setpgid(child, child);
    long started = now_ms();
    long kill_at = 0;
    // A stop that came before this step began is this step's too.
    if (cancelled && phase != STEP_CLEANUP) {
        kill(-child, cancelled);
        kill_at = started + grace_ms;
    }
    for (;;) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        siginfo_t info;
        int sig = sigtimedwait(waitset, &info, &tick);
        if (sig > 0 && is_forwarded(sig)) {
            if (!cancelled) cancelled = sig;
            if (phase != STEP_CLEANUP) {
                kill(-child, sig);
                if (!kill_at) kill_at = now_ms() + grace_ms;
            }
        }
        // Reap everything (PID 1 adopts orphans); note when the step ended.
        int st;
        pid_t p;
        int done = 0;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
            if (p == child) {
                out.status = st;
                done = 1;
            }
        }
        if (done) {
            // What the step left behind in its group goes with it.
            kill(-child, SIGKILL);
            return out;
        }
        long t = now_ms();
        if (kill_at && t >= kill_at) {
            kill(-child, SIGKILL);
            kill_at = 0;
        }
        if (limit_ms > 0 && t - started >= limit_ms && !out.timed_out) {
            out.timed_out = 1;
            kill(-child, SIGKILL);
        }
    }
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

/// Runs the hook named `name` if the hooks directory has it; 0 when it
/// succeeded or is not there.
static int run_hook(const char *name, who_t who, phase_t phase, sigset_t *waitset) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", hooks_dir, name);
    struct stat s;
    if (stat(path, &s) != 0) return 0;
    char *argv[] = {path, NULL};
    outcome_t o = run_step(argv, who, phase, hook_timeout_ms, waitset);
    if (o.timed_out) {
        fprintf(stderr, "[corral] %s ran past the hook timeout of %ld ms and was killed\n", name, hook_timeout_ms);
        return 125;
    }
    int code = exit_code(o.status);
    if (code != 0) fprintf(stderr, "[corral] %s failed (exit status %d)\n", name, code);
    return code;
}

static int parse_groups(const char *list) {
    if (strcmp(list, "-") == 0 || *list == 0) return 0;
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (ngroups == MAX_GROUPS) {
            free(copy);
            return -1;
        }
        char *end;
        unsigned long g = strtoul(t, &end, 10);
        if (*end) {
            free(copy);
            return -1;
        }
        groups[ngroups++] = (gid_t)g;
    }
    free(copy);
    return 0;
}

int job_main(int argc, char **argv) {
    int have_uid = 0, have_gid = 0;
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (!v) {
            fprintf(stderr, "[corral] corral-runner job: %s needs a value\n", a);
            return 125;
        } else if (strcmp(a, "--uid") == 0) {
            job_uid = (uid_t)strtoul(v, &end, 10);
            have_uid = !*end;
        } else if (strcmp(a, "--gid") == 0) {
            job_gid = (gid_t)strtoul(v, &end, 10);
            have_gid = !*end;
        } else if (strcmp(a, "--groups") == 0) {
            if (parse_groups(v) != 0) {
                fprintf(stderr, "[corral] corral-runner job: --groups %s is not a list of at most %d group ids\n", v, MAX_GROUPS);
                return 125;
            }
        } else if (strcmp(a, "--grace-ms") == 0) {
            grace_ms = strtol(v, &end, 10);
        } else if (strcmp(a, "--hook-timeout-ms") == 0) {
            hook_timeout_ms = strtol(v, &end, 10);
        } else if (strcmp(a, "--hooks") == 0) {
            hooks_dir = v;
        } else {
            fprintf(stderr, "[corral] corral-runner job: unknown argument %s\n", a);
            return 125;
        }
        if (end && *end) {
            fprintf(stderr, "[corral] corral-runner job: %s %s is not a number\n", a, v);
            return 125;
        }
        i++;
    }
    if (!have_uid || !have_gid || i >= argc) {
        fprintf(stderr, "usage: corral-runner job --uid U --gid G [--groups G1,G2] [--grace-ms N] [--hook-timeout-ms N] [--hooks DIR] -- PROGRAM [ARGS...]\n");
        return 125;
    }

    // Every signal this process acts on is taken by sigtimedwait, never by a handler.
    sigset_t waitset;
    sigemptyset(&waitset);
    for (unsigned k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++) sigaddset(&waitset, forwarded[k]);
    sigaddset(&waitset, SIGCHLD);
    sigprocmask(SIG_BLOCK, &waitset, NULL);
    signal(SIGPIPE, SIG_IGN);

    int code = 0;
    static const struct { const char *name; who_t who; } startup[] = {
        {"container_startup", AS_ROOT}, {"job_startup_root", AS_ROOT}, {"job_startup_user", AS_USER}};
    for (unsigned k = 0; k < sizeof startup / sizeof startup[0] && code == 0; k++) {
        if (cancelled) break;
        int c = run_hook(startup[k].name, startup[k].who, STEP_STARTUP, &waitset);
        if (c != 0) {
            fprintf(stderr, "[corral] the job was not run: %s did not succeed\n", startup[k].name);
            code = 125;
        }
    }
    if (code == 0 && !cancelled) {
        outcome_t o = run_step(&argv[i], AS_USER, STEP_JOB, 0, &waitset);
        code = exit_code(o.status);
    } else if (cancelled) {
        // Cancelled before the job began: it ends as the signal would have ended it.
        code = 128 + cancelled;
    }
    run_hook("job_cleanup_user", AS_USER, STEP_CLEANUP, &waitset);
    run_hook("job_cleanup_root", AS_ROOT, STEP_CLEANUP, &waitset);
    return code;
}
