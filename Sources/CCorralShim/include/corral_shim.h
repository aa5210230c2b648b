// Kernel calls Glibc does not expose (or exposes badly to Swift), kept small.
// Everything here is used by CorralHost; nothing else should include it.
#ifndef CORRAL_SHIM_H
#define CORRAL_SHIM_H

#include <sys/types.h>

/// What the child does between fork and exec, in this order: reset signals,
/// new session, join cgroups, CPU affinity, memory policy, rlimits, file
/// descriptors, working directory, group and user. So the program is pinned
/// from its first instruction.
typedef struct corral_spawn_attr {
    const char *path;                  /* absolute path of the program */
    char *const *argv;                 /* NULL-terminated */
    char *const *envp;                 /* NULL-terminated */
    const char *cwd;                   /* NULL: inherit */
    const unsigned long *cpu_mask;     /* NULL: inherit affinity */
    int cpu_mask_bytes;
    int mem_policy;                    /* -1: inherit; else MPOL_* (1 preferred, 2 bind) */
    const unsigned long *mem_mask;
    unsigned long mem_maxnode;         /* bits in mem_mask */
    long long nofile;                  /* < 0: inherit */
    long long nproc;                   /* < 0: inherit */
    int uid;                           /* < 0: inherit */
    int gid;                           /* < 0: inherit */
    const char *const *cgroup_procs;   /* cgroup.procs files to join */
    int cgroup_count;
    int stdin_fd;                      /* -1: /dev/null */
    int stdout_fd;                     /* -1: /dev/null */
    int stderr_fd;                     /* -1: /dev/null */
    int extra_fd;                      /* >= 0: becomes fd 3 */
    int ignore_stop_signals;           /* SIGTERM, SIGINT, SIGHUP, SIGQUIT ignored across exec */
} corral_spawn_attr;

/// Steps that can fail in the child, reported with errno.
enum corral_spawn_stage {
    CORRAL_STAGE_NONE = 0,
    CORRAL_STAGE_SETSID, CORRAL_STAGE_CGROUP, CORRAL_STAGE_AFFINITY, CORRAL_STAGE_MEMPOLICY,
    CORRAL_STAGE_NOFILE, CORRAL_STAGE_NPROC, CORRAL_STAGE_FDS, CORRAL_STAGE_CHDIR,
    CORRAL_STAGE_SETGID, CORRAL_STAGE_SETUID, CORRAL_STAGE_EXEC, CORRAL_STAGE_FORK, CORRAL_STAGE_PIPE
};

/// Starts a child. Returns 0 with *pid set once the child has exec'd; -1 with
/// *stage and *error (errno) when any step failed (the child is reaped).
int corral_spawn(const corral_spawn_attr *attr, pid_t *pid, int *stage, int *error);

/// pidfd_open(2); -1 with errno on failure.
int corral_pidfd_open(pid_t pid);

/// pidfd_send_signal(2); -1 with errno on failure.
int corral_pidfd_send_signal(int pidfd, int sig);


/// pipe2(2) with O_CLOEXEC plus `flags` (e.g. O_NONBLOCK); -1 with errno on failure.
int corral_pipe_cloexec(int fds[2], int flags);

/// The pid of the process listening on a unix socket (SO_PEERCRED), or -1.
pid_t corral_unix_peer_pid(const char *path);

#endif
