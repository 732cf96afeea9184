#ifndef HEARTH_INIT_CORE_H
#define HEARTH_INIT_CORE_H

/*
 * What runs in hearth-init and is shared with the supervisor's spawn child: the lockdown, starting
 * the command, and a held sandbox's receive-and-apply. hearth-init links this without glibc
 * (its own libc.c and syscalls.c), so the code here uses system calls and those few helpers.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which step of the child failed; see hearth_spawn_step_name. */
enum hearth_step {
    HEARTH_STEP_NONE = 0,
    HEARTH_STEP_CLONE,
    HEARTH_STEP_SIGNALS,
    HEARTH_STEP_OOM_SCORE,
    HEARTH_STEP_CGROUP_JOIN,
    HEARTH_STEP_CGROUP_NS,
    HEARTH_STEP_NETNS,
    HEARTH_STEP_MOUNT_OP,
    HEARTH_STEP_HOSTNAME,
    HEARTH_STEP_LOOPBACK,
    HEARTH_STEP_LISTENER,
    HEARTH_STEP_RLIMIT,
    HEARTH_STEP_SETSID,
    HEARTH_STEP_STDIO,
    HEARTH_STEP_CHDIR,
    HEARTH_STEP_SECUREBITS,
    HEARTH_STEP_BOUNDING,
    HEARTH_STEP_AMBIENT,
    HEARTH_STEP_SETGROUPS,
    HEARTH_STEP_SETGID,
    HEARTH_STEP_SETUID,
    HEARTH_STEP_CAPSET,
    HEARTH_STEP_NO_NEW_PRIVS,
    HEARTH_STEP_CLOSE_FDS,
    HEARTH_STEP_SECCOMP,
    HEARTH_STEP_EXEC,
    HEARTH_STEP_HELD_RECEIVE,
    HEARTH_STEP_HELD_MOUNT,
    HEARTH_STEP_HELD_TMP,
    HEARTH_STEP_COMMAND,
};

struct hearth_rlimit {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
};

/* The lockdown every sandbox's init gets before the workload runs: rlimits, working directory,
 * root locked out of capabilities, every capability dropped, the unprivileged uid/gid, no_new_privs,
 * fds from keep_below on closed at exec, seccomp last. Raw system calls only (it runs between clone
 * and exec in the supervisor). Returns 0, or -1 with *step and *index set and errno. */
struct hearth_lockdown {
    const struct hearth_rlimit *rlimits;
    size_t n_rlimits;
    const char *cwd;                 /* NULL: stay */
    uid_t uid;
    gid_t gid;
    int last_cap;
    unsigned int keep_below;         /* fds below this stay open across exec */
    const void *seccomp_filter;      /* struct sock_filter[] */
    unsigned short seccomp_len;      /* 0 = none */
};
int hearth_lockdown(const struct hearth_lockdown *l, int *step, int *index);

/* Specialising a held sandbox: the function's code as detached mounts (open_tree or fsmount fds,
 * attached by the init with move_mount), its /tmp size, hostname, lockdown and command. */
enum { HEARTH_HELD_MAX_MOUNTS = 8 };
struct hearth_held_mount {
    int fd;
    const char *target;
};
struct hearth_held_config {
    const struct hearth_held_mount *mounts;
    size_t n_mounts;
    const char *hostname;
    unsigned int tmp_size_mb, tmp_inodes;
    struct hearth_lockdown lockdown;
    char *const *argv;               /* NULL-terminated */
    char *const *envp;               /* NULL-terminated */
};
struct hearth_held_reply {
    int step;                        /* enum hearth_step; 0 = the command is being started */
    int index;
    int error;
};
/* Parent: sends the config and its mount fds in one message. Returns 0 or -1 with errno. */
int hearth_held_send(int sock, const struct hearth_held_config *config);
/* Parent: waits up to timeout_ms for the init's reply. Returns 0, or -1 with errno
 * (ETIMEDOUT; EPIPE when the init is gone). */
int hearth_held_await_reply(int sock, int timeout_ms, struct hearth_held_reply *reply);
/* Init: receives a config into *config (strings point into *storage, which the caller frees).
 * Returns 0, or -1 with errno (ECONNRESET: the supervisor closed the socket). */
int hearth_held_receive(int sock, struct hearth_held_config *config, void **storage);
/* Init: attaches the mounts, sizes /tmp, sets the hostname, then locks down. Same contract as
 * hearth_lockdown. */
int hearth_held_apply(const struct hearth_held_config *config, int *step, int *index);

/* The held message on the wire: this fixed part; rlimits, the seccomp program and NUL-terminated
 * strings follow (hostname, cwd, mount targets, argv, envp; an absent hostname or cwd is an empty string). */
enum { HEARTH_HELD_MAGIC = 0x48525448, HEARTH_HELD_MAX_MESSAGE = 256 * 1024, HEARTH_HELD_MAX_STRINGS = 4096 };
struct hearth_held_header {
    uint32_t magic;
    uint32_t n_mounts, n_rlimits, seccomp_len, n_argv, n_envp;
    uint32_t uid, gid;
    int32_t last_cap;
    uint32_t keep_below;
    uint32_t tmp_size_mb, tmp_inodes;
    uint32_t strings_len;
};

/* Starts argv as a child of the caller, its signal mask empty and every fd from close_from up (if
 * >= 0) closed; returns once it has exec'd: its pid, with *exec_error 0, or the errno of a failed
 * exec (the child then exits 127 or 126). -1 with errno if no child could be made. System calls only. */
pid_t hearth_start_command(char *const argv[], char *const envp[], int close_from, int *exec_error);

/* The fds an init has: 3 the status pipe to the supervisor, 4 a held sandbox's control socket, 5 the
 * lifeline (the read end of a pipe whose write end only the supervisor holds: when the supervisor dies,
 * by any means, it hangs up and the init ends the sandbox). Each is optional. */
enum { HEARTH_FD_STATUS = 3, HEARTH_FD_CONTROL = 4, HEARTH_FD_LIFELINE = 5, HEARTH_FD_FIRST_FREE = 6 };

#endif
