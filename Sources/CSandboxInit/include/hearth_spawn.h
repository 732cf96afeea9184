#ifndef HEARTH_SPAWN_H
#define HEARTH_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hearth_init_core.h"

/*
 * The parent (Swift) computes everything a sandbox needs into this plain
 * struct; hearth_spawn() clones and the child only interprets it with raw
 * system calls. Nothing here allocates, locks or touches Swift state.
 */

enum hearth_op_kind {
    HEARTH_OP_MOUNT = 1,   /* mount(source, target, fstype, flags, data) */
    HEARTH_OP_MKDIR = 2,   /* mkdir(target, mode); EEXIST is fine */
    HEARTH_OP_MKNOD = 3,   /* mknod(target, mode, dev) */
    HEARTH_OP_SYMLINK = 4, /* symlink(source, target) */
    HEARTH_OP_PIVOT = 5,   /* pivot_root into target and detach the old root */
    HEARTH_OP_MASK = 6,    /* hide target: source (/dev/null) over a file, the empty dir data, read-only, over a dir */
    HEARTH_OP_UMOUNT = 7,  /* umount2(target, 0) */
    HEARTH_OP_ATTACH = 8,  /* move_mount the detached mount fd to target */
};

struct hearth_op {
    int kind;
    int optional; /* a missing target (ENOENT) is not an error */
    const char *source;
    const char *target;
    const char *fstype;
    const char *data;
    unsigned long flags;
    unsigned int mode;
    unsigned long long dev;
    int fd;
};

struct hearth_spawn_config {
    int clone_flags;                 /* CLONE_NEW* except CLONE_NEWCGROUP */
    int netns_fd;                    /* a prepared network namespace to join, or -1 (then CLONE_NEWNET) */
    int new_cgroup_ns;               /* unshare(CLONE_NEWCGROUP) after joining the cgroups */
    const int *cgroup_join_fds;      /* each hierarchy's join file (v1 tasks, v2 cgroup.procs), opened O_WRONLY */
    size_t n_cgroup_join_fds;
    const struct hearth_op *ops;
    size_t n_ops;
    const char *hostname;            /* NULL: keep */
    int loopback_up;
    unsigned short listen_port;      /* nonzero: listen on 127.0.0.1:port in the sandbox's network namespace */
    int listen_send_fd;              /* and pass that socket to the parent over this unix socket, before exec */
    const struct hearth_rlimit *rlimits;
    size_t n_rlimits;
    const char *cwd;                 /* inside the new root */
    int oom_score_adj;
    uid_t uid;
    gid_t gid;
    int stdin_fd, stdout_fd, stderr_fd;
    int status_fd;                   /* becomes fd 3 of the init, or -1 */
    int lifeline_fd;                 /* becomes fd 5 of the init, or -1: the read end of the supervisor's lifeline pipe */
    int exec_fd;                     /* sealed memfd holding hearth-init */
    /* The command (looked up in envp's PATH when argv[0] has no slash), started by the child
     * before it execs the init, so the command does not wait for the init's own start-up. A held
     * sandbox's child runs no command: argv is then the init's own. */
    char *const *argv;
    char *const *envp;
    const void *seccomp_filter;      /* struct sock_filter[] */
    unsigned short seccomp_len;      /* number of instructions, 0 = none */
    int last_cap;
    /* Prepared ("held") sandbox: namespaces, cgroups and mounts only. The child skips hostname and
     * lockdown and execs the init with no command; the init waits privileged on control_fd (becomes
     * fd 4) for hearth_held_send, like runc's init waiting for `runc start`. */
    int hold;
    int control_fd;
};

/* Parent side of listen_port: the listening socket the child sent, or -1 with errno (EAGAIN: none was sent). */
int hearth_receive_listener(int sock);

struct hearth_spawn_result {
    pid_t pid;
    int pidfd;
    int failed_step;  /* enum hearth_step, 0 on success */
    int failed_op;    /* index into ops for HEARTH_STEP_MOUNT_OP */
    int error;        /* errno of the failed step */
    /* CLOCK_MONOTONIC ns at: clone, child entry, cgroups joined, mounts done, locked down (the command starts), parent resumed. */
    long long timeline_ns[6];
};

/* Parent: a detached read-only copy of `path` (open_tree), or an overlay of `lowerdir`
 * ("top:...:bottom") made with fsopen/fsmount. Returns an fd or -1 with errno. */
int hearth_detached_bind(const char *path);
int hearth_detached_overlay(const char *lowerdir);
/* Parent: the ext4 filesystem on `device`, mounted detached, nosuid and nodev; an fd or -1 with errno. */
int hearth_detached_ext4(const char *device);

/* Returns 0 and fills pid/pidfd, or -1 with failed_step/error set (the child is reaped). */
int hearth_spawn(const struct hearth_spawn_config *config, struct hearth_spawn_result *result);

const char *hearth_spawn_step_name(int step);

/* Makes a fresh network namespace with loopback up on the calling thread, returns an fd
 * to it and puts the thread back into `home_fd`'s namespace. Returns -1 with errno. */
int hearth_netns_create(int home_fd);

#endif
