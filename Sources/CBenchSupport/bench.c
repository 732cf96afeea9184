#define _GNU_SOURCE
#include "hearth_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

int hearth_bench_run(const char *path, char *const argv[], int mntns_fd) {
    extern char **environ;
    pid_t pid = hearth_bench_spawn(path, argv, environ, mntns_fd);
    if (pid < 0) return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

int hearth_bench_mntns_without(const char *path) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char ok = 1;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            umount2(path, MNT_DETACH) < 0)
            ok = 0;
        if (write(ready[1], &ok, 1) < 0) _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    if (pid < 0) {
        close(ready[0]);
        return -1;
    }
    char ok = 0;
    ssize_t n = read(ready[0], &ok, 1);
    close(ready[0]);
    int fd = -1;
    if (n == 1 && ok) {
        char nspath[64];
        snprintf(nspath, sizeof nspath, "/proc/%d/ns/mnt", pid);
        fd = open(nspath, O_RDONLY | O_CLOEXEC);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return fd;
}

int hearth_bench_spawn(const char *path, char *const argv[], char *const envp[], int mntns_fd) {
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) return -1;
    pid_t pid = vfork();
    if (pid == 0) {
        if (mntns_fd >= 0 && setns(mntns_fd, CLONE_NEWNS) < 0) _exit(126);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execve(path, argv, envp);
        _exit(127);
    }
    close(devnull);
    return pid;
}

void hearth_bench_kill_and_reap(int pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}
