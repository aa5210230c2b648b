// fork/exec with child setup, the way glibc's posix_spawn does it: the child
// is created with clone(CLONE_VM | CLONE_VFORK) on a stack of its own, so no
// page tables are copied (a large executor would pay ~1 ms per fork) and the
// parent thread waits until the child has exec'd or failed.
//
// Sharing the parent's memory, the child may only make raw system calls and
// async-signal-safe calls that write nothing but its own stack: no malloc, no
// locks, no stdio, and no glibc set*id() (it would signal the parent's
// threads), hence syscall(SYS_setuid) and friends. All signals are blocked
// around the clone so that no parent handler can run in the child; the child
// resets every handler to the default before unblocking. Every argument is
// prepared by the parent before the clone.
#define _GNU_SOURCE
#include "corral_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct failure { int stage; int error; };

static void fail(int pipe_fd, int stage) {
    struct failure f = { stage, errno };
    // A short write cannot be retried meaningfully here; the parent treats any
    // partial report as a failure too.
    ssize_t ignored = write(pipe_fd, &f, sizeof f);
    (void)ignored;
    _exit(127);
}

/// Moves fd to a number >= 10 so that dup2 onto 0-3 cannot clobber a source.
static int lift(int fd) {
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static void child(const corral_spawn_attr *a, int report) {
    // Signals: every handler back to the default first (the parent runtime may
    // ignore SIGPIPE or have handlers that must not run here), then unblocked.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    }
    // A runner must not be stopped by the signals meant for its command, not
    // even in the instant after exec before its own code runs: ignored
    // dispositions survive exec.
    if (a->ignore_stop_signals) {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigaction(SIGTERM, &ign, NULL);
        sigaction(SIGINT, &ign, NULL);
        sigaction(SIGHUP, &ign, NULL);
        sigaction(SIGQUIT, &ign, NULL);
    }
    // And blocked: an ignored signal that is blocked stays pending (Linux keeps
    // it, since the handler may change before it is unblocked), so a stop sent
    // before the runner has started its command is not lost: the runner hands
    // it on (see CorralRunner/main.c).
    sigset_t mask;
    sigemptyset(&mask);
    if (a->ignore_stop_signals) {
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
    }
    sigprocmask(SIG_SETMASK, &mask, NULL);
    // Its own session and process group: survives the executor, and one
    // signal to the group reaches everything it starts.
    if (setsid() < 0) fail(report, CORRAL_STAGE_SETSID);

    // Join cgroups first: joining a cpuset cgroup resets affinity to its CPUs.
    for (int i = 0; i < a->cgroup_count; i++) {
        int fd = open(a->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail(report, CORRAL_STAGE_CGROUP);
        if (write(fd, "0", 1) != 1) fail(report, CORRAL_STAGE_CGROUP);
        close(fd);
    }
    if (a->cpu_mask != NULL) {
        if (sched_setaffinity(0, (size_t)a->cpu_mask_bytes, (const cpu_set_t *)a->cpu_mask) < 0)
            fail(report, CORRAL_STAGE_AFFINITY);
    }
    if (a->mem_policy >= 0) {
        if (syscall(SYS_set_mempolicy, a->mem_policy, a->mem_mask, a->mem_maxnode) < 0)
            fail(report, CORRAL_STAGE_MEMPOLICY);
    }
    if (a->nofile >= 0) {
        struct rlimit r = { (rlim_t)a->nofile, (rlim_t)a->nofile };
        if (setrlimit(RLIMIT_NOFILE, &r) < 0) fail(report, CORRAL_STAGE_NOFILE);
    }
    if (a->nproc >= 0) {
        struct rlimit r = { (rlim_t)a->nproc, (rlim_t)a->nproc };
        if (setrlimit(RLIMIT_NPROC, &r) < 0) fail(report, CORRAL_STAGE_NPROC);
    }

    // Standard streams and fd 3; everything else is closed.
    int devnull = -1;
    if (a->stdin_fd < 0 || a->stdout_fd < 0 || a->stderr_fd < 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) fail(report, CORRAL_STAGE_FDS);
    }
    int in = lift(a->stdin_fd >= 0 ? a->stdin_fd : devnull);
    int out = lift(a->stdout_fd >= 0 ? a->stdout_fd : devnull);
    int err = lift(a->stderr_fd >= 0 ? a->stderr_fd : devnull);
    int extra = lift(a->extra_fd);
    int lifted_report = lift(report);
    if (in < 0 || out < 0 || err < 0 || (a->extra_fd >= 0 && extra < 0) || lifted_report < 0)
        fail(report, CORRAL_STAGE_FDS);
    report = lifted_report;
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(report, CORRAL_STAGE_FDS);
    int first_closed = 3;
    if (a->extra_fd >= 0) {
        if (dup2(extra, 3) < 0) fail(report, CORRAL_STAGE_FDS);
        first_closed = 4;
    }
    // Close every other descriptor except the report pipe (which is
    // close-on-exec): below it, then above it.
    if (report > first_closed && syscall(SYS_close_range, first_closed, report - 1, 0) < 0) {
        for (int fd = first_closed; fd < report; fd++) close(fd);
    }
    if (syscall(SYS_close_range, report + 1, ~0U, 0) < 0) {
        struct rlimit r;
        int max = (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 65536) ? (int)r.rlim_cur : 65536;
        for (int fd = report + 1; fd < max; fd++) close(fd);
    }

    if (a->cwd != NULL && chdir(a->cwd) < 0) fail(report, CORRAL_STAGE_CHDIR);
    if (a->gid >= 0) {
        if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setgid, (gid_t)a->gid) < 0)
            fail(report, CORRAL_STAGE_SETGID);
    }
    if (a->uid >= 0 && syscall(SYS_setuid, (uid_t)a->uid) < 0) fail(report, CORRAL_STAGE_SETUID);

    execve(a->path, a->argv, a->envp);
    fail(report, CORRAL_STAGE_EXEC);
}

struct clone_args_block {
    const corral_spawn_attr *attr;
    int report;
};

static int child_entry(void *arg) {
    struct clone_args_block *b = arg;
    child(b->attr, b->report);
    _exit(127);  // not reached
}

int corral_spawn(const corral_spawn_attr *attr, pid_t *pid, int *stage, int *error) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        *stage = CORRAL_STAGE_PIPE;
        *error = errno;
        return -1;
    }
    const size_t stack_size = 256 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        *stage = CORRAL_STAGE_FORK;
        *error = errno;
        close(p[0]);
        close(p[1]);
        return -1;
    }
    struct clone_args_block block = { attr, p[1] };
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    // The stack grows down on every architecture Corral runs on.
    pid_t child_pid = clone(child_entry, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &block);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, stack_size);
    close(p[1]);
    if (child_pid < 0) {
        *stage = CORRAL_STAGE_FORK;
        *error = clone_errno;
        close(p[0]);
        return -1;
    }
    // The child has exec'd or exited by now (CLONE_VFORK); the write end closed
    // on exec, so EOF with nothing read means success.
    struct failure f;
    ssize_t n;
    do {
        n = read(p[0], &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == 0) {
        *pid = child_pid;
        return 0;
    }
    int status;
    while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR) {}
    *stage = n == (ssize_t)sizeof f ? f.stage : CORRAL_STAGE_EXEC;
    *error = n == (ssize_t)sizeof f ? f.error : EIO;
    return -1;
}

int corral_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int corral_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

pid_t corral_unix_peer_pid(const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) return -1;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    pid_t pid = -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) pid = cred.pid;
    }
    close(fd);
    return pid;
}

int corral_pipe_cloexec(int fds[2], int flags) {
    return pipe2(fds, O_CLOEXEC | flags);
}
