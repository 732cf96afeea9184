// The last steps before a sandbox's workload runs, shared by the spawn child
// (between clone and exec: raw system calls only) and a held sandbox's init.
#define _GNU_SOURCE
#include "hearth_init_core.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failed(int *step, int *index, int s, int i) {
    *step = s;
    *index = i;
    return -1;
}

int hearth_lockdown(const struct hearth_lockdown *l, int *step, int *index) {
    for (size_t i = 0; i < l->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = l->rlimits[i].soft, .rlim_max = l->rlimits[i].hard};
        if (setrlimit(l->rlimits[i].resource, &rl) < 0) return failed(step, index, HEARTH_STEP_RLIMIT, (int)i);
    }
    if (l->cwd && chdir(l->cwd) < 0) return failed(step, index, HEARTH_STEP_CHDIR, 0);

    /* Lock root out of ever regaining capabilities, then empty the bounding and ambient sets. */
    int securebits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0) < 0) return failed(step, index, HEARTH_STEP_SECUREBITS, 0);
    for (int cap = 0; cap <= l->last_cap; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return failed(step, index, HEARTH_STEP_BOUNDING, cap);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return failed(step, index, HEARTH_STEP_AMBIENT, 0);

    if (syscall(SYS_setgroups, 0, NULL) < 0) return failed(step, index, HEARTH_STEP_SETGROUPS, 0);
    if (syscall(SYS_setresgid, l->gid, l->gid, l->gid) < 0) return failed(step, index, HEARTH_STEP_SETGID, 0);
    if (syscall(SYS_setresuid, l->uid, l->uid, l->uid) < 0) return failed(step, index, HEARTH_STEP_SETUID, 0);

    /* NO_SETUID_FIXUP kept the sets through setuid; clear them explicitly (always permitted). */
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0) return failed(step, index, HEARTH_STEP_CAPSET, 0);

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return failed(step, index, HEARTH_STEP_NO_NEW_PRIVS, 0);

    if (syscall(SYS_close_range, l->keep_below, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return failed(step, index, HEARTH_STEP_CLOSE_FDS, 0);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    umask(022);

    if (l->seccomp_len > 0) {
        struct sock_fprog prog = {.len = l->seccomp_len, .filter = (struct sock_filter *)l->seccomp_filter};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return failed(step, index, HEARTH_STEP_SECCOMP, 0);
    }
    return 0;
}
