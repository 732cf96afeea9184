/*
 * hearth-probe: runs inside a sandbox in the integration tests and reports,
 * one "key=value" line per fact, what it can and cannot do from there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *errname(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ESRCH: return "ESRCH";
    case EEXIST: return "EEXIST";
    default: return "OTHER";
    }
}

static void result(const char *name, long rc) {
    printf("%s=%s\n", name, rc < 0 ? errname(errno) : "OK");
}

static int cmd_status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char key[64], value[128];
        if (sscanf(line, "%63[^:]:%*[ \t]%127[^\n]", key, value) == 2) {
            if (!strncmp(key, "Cap", 3) || !strcmp(key, "NoNewPrivs") || !strcmp(key, "Seccomp") ||
                !strcmp(key, "Uid") || !strcmp(key, "Gid"))
                printf("%s=%s\n", key, value);
        }
    }
    fclose(f);
    return 0;
}

static int cmd_syscalls(void) {
    errno = 0;
    result("mount", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
    result("umount2", umount2("/proc", MNT_DETACH));
    result("unshare", unshare(CLONE_NEWNS));
    result("unshare_user", unshare(CLONE_NEWUSER));
    int nsfd = open("/proc/self/ns/net", O_RDONLY);
    result("setns", setns(nsfd, 0));
    result("pivot_root", syscall(SYS_pivot_root, "/", "/tmp"));
    result("chroot", chroot("/tmp"));
    result("ptrace", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0, 0));
    result("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    result("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
    struct perf_event_attr pattr;
    memset(&pattr, 0, sizeof pattr);
    pattr.size = sizeof pattr;
    result("perf_event_open", syscall(SYS_perf_event_open, &pattr, 0, -1, -1, 0));
    result("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    result("init_module", syscall(SYS_init_module, NULL, 0, ""));
    char handle[128];
    memset(handle, 0, sizeof handle);
    result("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_RDONLY));
    result("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
    result("userfaultfd", syscall(SYS_userfaultfd, 0));
    result("clone3", syscall(SYS_clone3, NULL, 0));
    result("clone_newpid", syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0));
    result("personality_bsd", personality(0x0006 /* PER_BSD */));
    result("personality_query", personality(0xffffffff));
    result("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
    result("socket_vsock_highbits", syscall(SYS_socket, 0x100000000UL | AF_VSOCK, SOCK_STREAM, 0));
    result("socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
    result("socket_inet", socket(AF_INET, SOCK_STREAM, 0));
    result("setuid0", syscall(SYS_setuid, 0));
    result("sethostname", sethostname("x", 1));
    struct timespec ts = {0, 0};
    result("clock_settime", clock_settime(CLOCK_REALTIME, &ts));
    result("mknod", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)));
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    result("fork", pid);
    return 0;
}

static int cmd_pids(void) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    printf("pids=");
    int first = 1;
    while ((e = readdir(d))) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end == 0 && v > 0) {
            printf("%s%ld", first ? "" : ",", v);
            first = 0;
        }
    }
    printf("\n");
    closedir(d);
    result("kill_host_init", kill(999999, 0));
    return 0;
}

static int cmd_hostname(void) {
    struct utsname u;
    uname(&u);
    printf("hostname=%s\n", u.nodename);
    return 0;
}

static int cmd_connect(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    result("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
    a.sin_port = htons(80);
    inet_pton(AF_INET, "1.1.1.1", &a.sin_addr);
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    result("connect_outside", connect(fd2, (struct sockaddr *)&a, sizeof a));
    return 0;
}

static int cmd_rofs(void) {
    result("write_root", open("/probe-file", O_CREAT | O_WRONLY, 0644));
    result("write_bin", open("/bin/probe-file", O_CREAT | O_WRONLY, 0644));
    result("write_dev", open("/dev/probe-file", O_CREAT | O_WRONLY, 0644));
    result("write_tmp", open("/tmp/probe-file", O_CREAT | O_WRONLY, 0644));
    result("write_devnull", open("/dev/null", O_WRONLY));
    result("read_urandom", open("/dev/urandom", O_RDONLY));
    result("write_devshm", open("/dev/shm/probe", O_CREAT | O_WRONLY, 0644));
    struct stat st;
    if (stat("/tmp/probe-file", &st) == 0) printf("tmp_file_mode=%o\n", st.st_mode & 0777);
    return 0;
}

static int cmd_tmpfill(void) {
    int fd = open("/tmp/fill", O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return 1;
    static char buf[1 << 16];
    memset(buf, 'x', sizeof buf);
    long long total = 0;
    for (;;) {
        ssize_t n = write(fd, buf, sizeof buf);
        if (n <= 0) break;
        total += n;
    }
    printf("written_mb=%lld\nerror=%s\n", total / (1024 * 1024), errname(errno));
    return 0;
}

static int cmd_memhog(void) {
    long long total = 0;
    for (;;) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap_failed_at_mb=%lld\n", total);
            return 3;
        }
        memset(p, 1, 1 << 20);
        total++;
    }
}

static int cmd_forkbomb(void) {
    int count = 0;
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) break;
        count++;
    }
    printf("forks=%d\nerror=%s\n", count, errname(errno));
    fflush(stdout);
    return 1;
}

/* Double-fork a daemon in its own session, then hang: only the timeout ends it. */
static int cmd_daemon(const char *marker) {
    pid_t pid = fork();
    if (pid == 0) {
        if (fork() == 0) {
            setsid();
            char *argv[] = {"/bin/probe", "sleep", "100000", (char *)marker, NULL};
            execv("/bin/probe", argv);
            _exit(1);
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("daemon=started\n");
    fflush(stdout);
    for (;;) pause();
}

static int cmd_netns(void) {
    char buf[64];
    ssize_t n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
    if (n < 0) return 1;
    buf[n] = 0;
    printf("netns=%s\n", buf);
    return cmd_connect("9");
}

static int cmd_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 1;
    int own = dirfd(d);
    struct dirent *e;
    printf("fds=");
    int first = 1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (atoi(e->d_name) == own) continue;
        printf("%s%s", first ? "" : ",", e->d_name);
        first = 0;
    }
    printf("\n");
    closedir(d);
    return 0;
}

static int cmd_masked(void) {
    const char *paths[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                           "/proc/latency_stats", "/proc/timer_stats", "/proc/interrupts", "/proc/acpi", "/proc/scsi"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            printf("%s=absent\n", paths[i]);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(paths[i]);
            int entries = 0;
            struct dirent *e;
            while (d && (e = readdir(d)))
                if (e->d_name[0] != '.') entries++;
            if (d) closedir(d);
            printf("%s=%d\n", paths[i], entries);
            continue;
        }
        int fd = open(paths[i], O_RDONLY);
        if (fd < 0) {
            printf("%s=%s\n", paths[i], errname(errno));
            continue;
        }
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        printf("%s=%zd\n", paths[i], n);
        close(fd);
    }
    result("write_sysrq", open("/proc/sysrq-trigger", O_WRONLY));
    result("write_core_pattern", open("/proc/sys/kernel/core_pattern", O_WRONLY));
    result("umount_kcore", umount2("/proc/kcore", MNT_DETACH));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: probe status|syscalls|pids|hostname|connect PORT|rofs|tmpfill|memhog|forkbomb|daemon MARKER|fds|masked|sleep N|exit N\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "status")) return cmd_status();
    if (!strcmp(c, "syscalls")) return cmd_syscalls();
    if (!strcmp(c, "pids")) return cmd_pids();
    if (!strcmp(c, "hostname")) return cmd_hostname();
    if (!strcmp(c, "connect") && argc > 2) return cmd_connect(argv[2]);
    if (!strcmp(c, "rofs")) return cmd_rofs();
    if (!strcmp(c, "tmpfill")) return cmd_tmpfill();
    if (!strcmp(c, "memhog")) return cmd_memhog();
    if (!strcmp(c, "forkbomb")) return cmd_forkbomb();
    if (!strcmp(c, "daemon") && argc > 2) return cmd_daemon(argv[2]);
    if (!strcmp(c, "fds")) return cmd_fds();
    if (!strcmp(c, "netns")) return cmd_netns();
    if (!strcmp(c, "masked")) return cmd_masked();
    if (!strcmp(c, "sleep") && argc > 2) {
        sleep((unsigned)atoi(argv[2]));
        return 0;
    }
    if (!strcmp(c, "exit") && argc > 2) return atoi(argv[2]);
    fprintf(stderr, "probe: unknown command %s\n", c);
    return 2;
}
