/// The sandbox's system-call policy: Docker's default allow-list with every
/// entry that needs a capability removed (a sandbox has none), and without
/// io_uring, ptrace and process_vm_*/kcmp/pidfd_getfd. Anything not listed
/// fails with EPERM; foreign architectures kill the process.
public struct SeccompProfile: Sendable {
    public enum ArgumentRule: Sendable {
        /// Allowed when (arg[index] & mask) == value.
        case maskedEqual(index: UInt32, mask: UInt64, value: UInt64)
        /// Allowed when arg[index] == one of the values (exact 64-bit match, so high bits cannot sneak past).
        case oneOf(index: UInt32, values: [UInt64])
    }

    public var allowed: [String]
    public var conditional: [(name: String, rule: ArgumentRule)]
    /// Syscalls answered with ENOSYS so libc falls back (clone3 → clone, whose flags can be checked).
    public var enosys: [String]

    static let cloneNamespaceFlags: UInt64 =
        0x0002_0000 /* NEWNS */ | 0x0400_0000 /* NEWUTS */ | 0x0800_0000 /* NEWIPC */ | 0x1000_0000 /* NEWUSER */
        | 0x2000_0000 /* NEWPID */ | 0x4000_0000 /* NEWNET */ | 0x0200_0000 /* NEWCGROUP */ | 0x0000_0080 /* NEWTIME */

    public static let `default` = SeccompProfile(
        allowed: dockerAllowList,
        conditional: [
            ("clone", .maskedEqual(index: 0, mask: cloneNamespaceFlags, value: 0)),
            // PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query.
            ("personality", .oneOf(index: 0, values: [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff])),
            // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK. No AF_VSOCK, no AF_PACKET.
            ("socket", .oneOf(index: 0, values: [1, 2, 10, 16])),
        ],
        enosys: ["clone3"])

    /// Docker's unconditional allow-list (moby profiles/seccomp), minus capability-gated
    /// calls and the ones this project refuses. Names unknown to libseccomp are skipped.
    static let dockerAllowList: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat",
        "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close",
        "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
        "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
        "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
        "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
        "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
        "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
        "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
        "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
        "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
        "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
        "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
        "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
        "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
        "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
        "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
        "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
        "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
        "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
        "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
        "sigprocmask", "sigreturn", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
        "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
        "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
        "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
        "writev",
    ]

    /// Calls that must never be allowed, whatever the list says; checked by a unit test.
    public static let forbidden: [String] = [
        "mount", "umount", "umount2", "unshare", "setns", "pivot_root", "chroot", "ptrace",
        "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise", "keyctl",
        "add_key", "request_key", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "open_by_handle_at", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "userfaultfd", "reboot", "swapon", "swapoff",
        "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "syslog",
        "acct", "quotactl", "lookup_dcookie", "fsopen", "fsmount", "fsconfig", "fspick",
        "move_mount", "open_tree", "mount_setattr", "iopl", "ioperm", "vhangup", "mbind",
        "set_mempolicy", "get_mempolicy", "move_pages", "migrate_pages", "fanotify_init", "uselib",
        "ustat", "sysfs", "_sysctl", "nfsservctl",
    ]
}
