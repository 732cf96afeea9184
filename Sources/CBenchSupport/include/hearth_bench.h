#ifndef HEARTH_BENCH_H
#define HEARTH_BENCH_H

/* Runs path with argv (stdio on /dev/null), optionally inside the mount
 * namespace mntns_fd, and waits. Returns the wait status, or -1. */
int hearth_bench_run(const char *path, char *const argv[], int mntns_fd);

/* A copy of our mount namespace with `path` detached, held open by the returned fd.
 * crun 1.8 refuses hybrid cgroups; this is how it is run next to Hearth on such hosts. */
int hearth_bench_mntns_without(const char *path);

/* Starts path with argv and envp (stdio on /dev/null), optionally in mntns_fd; returns the pid. */
int hearth_bench_spawn(const char *path, char *const argv[], char *const envp[], int mntns_fd);

/* SIGKILL (if still running) and reap. */
void hearth_bench_kill_and_reap(int pid);

#endif
