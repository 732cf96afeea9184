#if canImport(Glibc)
import Glibc
#endif
import CCap
import CSandboxInit
import CSyscalls
import HearthCgroups
import HearthModel

/// Starts sandboxes. One per process: it owns the compiled seccomp program,
/// the sealed init binary and the runtime directory, all prepared once.
public final class SandboxEngine: Sendable {
    public let cgroups: any CgroupManager
    public let runtime: RuntimeDirectory
    let initBinary: InitBinary
    let seccomp: SeccompProgram
    let lastCap: Int32
    /// Prepared cgroups and network namespaces; nil for one-shot use, where preparing ahead gains nothing.
    public let slots: SandboxSlotPool?
    /// Root overlays mounted once and shared; nil for one-shot use, where each child mounts its own.
    public let sharedRoots: SharedRoots?
    /// Disks for /tmp; nil: /tmp is in the sandbox's tmpfs, charged to its memory.
    public let ephemeralDisks: EphemeralDisks?
    /// Every sandbox's init holds the read end; this process alone the write end, so that when it dies,
    /// however it dies, every sandbox it started ends (hearth-init watches the lifeline).
    let lifeline: Lifeline

    // CLONE_NEWNS | NEWUTS | NEWIPC | NEWPID; the network namespace is joined or made (NEWNET),
    // the cgroup namespace comes after joining the cgroups.
    static let cloneFlags: Int32 = 0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x2000_0000
    static let cloneNewNet: Int32 = 0x4000_0000

    /// - Parameters:
    ///   - prepared: keep this many slots (cgroup and network namespace) ready for sandboxes with these limits.
    ///   - shareRoots: mount each distinct root once and share it (call `shutdown` to unmount them); for
    ///     one-shot use, false: the sandbox's child mounts its own root, and nothing is left in the host's namespace.
    ///   - ephemeralDisks: where each sandbox's /tmp comes from, if not from its tmpfs.
    public init(cgroups: any CgroupManager, runtime: RuntimeDirectory, initPath: String,
                prepared: (count: Int, limits: ResourceLimits)? = nil, shareRoots: Bool = true,
                ephemeralDisks: EphemeralDisks? = nil) throws {
        guard geteuid() == 0 else { throw HearthError.system("sandboxes need root (running as uid \(geteuid()))") }
        self.cgroups = cgroups
        self.runtime = runtime
        self.initBinary = try InitBinary(path: initPath)
        self.lifeline = try Lifeline()
        self.seccomp = try SeccompCache.program(.default, in: runtime.path)
        // libcap knows how many capabilities this kernel has; every one of them is dropped.
        let bits = cap_max_bits()
        self.lastCap = bits > 0 ? Int32(bits) - 1 : 63
        if let prepared, prepared.count > 0 {
            slots = try SandboxSlotPool(target: prepared.count, limits: prepared.limits, cgroups: cgroups)
        } else {
            slots = nil
        }
        sharedRoots = shareRoots ? try SharedRoots(runtime: runtime) : nil
        self.ephemeralDisks = ephemeralDisks
    }

    /// Stops background work and releases what is prepared but unused.
    public func shutdown() {
        slots?.shutdown()
        ephemeralDisks?.shutdown()
        sharedRoots?.release()
    }

    /// The engine for this machine: detected cgroups, the runtime directory (HEARTH_RUNTIME_DIR or
    /// /run/hearth), the installed init.
    public static func forThisHost(runtimeDirectory: String? = nil, shareRoots: Bool = true,
                                   ephemeralDisks: EphemeralDisks? = nil) throws -> SandboxEngine {
        let path = runtimeDirectory ?? getenv("HEARTH_RUNTIME_DIR").map { String(cString: $0) } ?? RuntimeDirectory.defaultPath
        return try SandboxEngine(cgroups: CgroupDetector.currentManager(), runtime: RuntimeDirectory(path: path),
                                 initPath: InitBinary.locate(), shareRoots: shareRoots, ephemeralDisks: ephemeralDisks)
    }

    /// File descriptors the sandbox gets as 0, 1 and 2. The caller keeps ownership.
    public struct Stdio: Sendable {
        public var stdin: Int32, stdout: Int32, stderr: Int32
        public init(stdin: Int32, stdout: Int32, stderr: Int32) {
            self.stdin = stdin
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// - Parameters:
    ///   - networkNamespace: a namespace prepared by the caller; the caller keeps its fd. Without one, a
    ///     prepared slot's or a new one is used.
    ///   - listenerPort: the sandbox's init listens on 127.0.0.1 at this port in the sandbox's network
    ///     namespace before its command runs; the socket is `RunningSandbox.listener`, the caller's to close.
    public func start(_ spec: SandboxSpec, stdio: Stdio, networkNamespace: Int32? = nil, listenerPort: UInt16? = nil) throws -> RunningSandbox {
        try spec.validate()
        let launched = try launch(spec, stdio: stdio, networkNamespace: networkNamespace, listenerPort: listenerPort, control: nil)
        return RunningSandbox(spec: spec, launched: launched)
    }

    struct Launched {
        var pid: Int32, pidfd: Int32, statusFd: Int32
        var cgroup: any SandboxCgroup
        var startedAt: Double
        var timings: StartTimings
        /// The listening socket asked for with `listenerPort`.
        var listener: Int32?
    }

    /// Cgroup, status pipe and the spawn; with `control`, a held sandbox (no binds, no lockdown, /tmp in its tmpfs
    /// until `specialise` brings its disk).
    func launch(_ spec: SandboxSpec, stdio: Stdio, networkNamespace: Int32?, listenerPort: UInt16?, control: Int32?) throws -> Launched {
        let beforeDisk = monotonicSeconds()
        let tmpDisk = control == nil ? try ephemeralDisks?.make(sizeMB: spec.limits.tmpSizeMB) : nil
        // The child has attached its copy (or failed) once the spawn returns; an unattached disk ends with this fd.
        defer { if let tmpDisk { close(tmpDisk) } }
        let root: MountPlan.Root = try sharedRoots.map {
            .shared(try $0.acquire(lowerdir: MountPlan.rootLowerdir(for: spec, skeleton: runtime.skeleton)))
        } ?? .mountAt(runtime.rootMountPoint)
        // Once launch returns, the clone has copied the mount (or failed): it may be unmounted from then on.
        defer { if case .shared(let path) = root { sharedRoots?.done(with: path) } }
        let ops = try MountPlan.operations(for: spec, root: root, skeleton: runtime.skeleton, tmpDisk: tmpDisk)
        slots?.startBegan()
        defer { slots?.startEnded() }
        let beforeCgroup = monotonicSeconds()
        let slot = slots?.take(for: spec.limits)
        let cgroup = try slot?.cgroup ?? cgroups.createSandboxCgroup(id: spec.id, limits: spec.limits)
        if spec.burstCPUAtStart { try cgroup.setCPULimit(nil) }
        let slotNetns = slot?.networkNamespace ?? -1
        defer { if slotNetns >= 0 { close(slotNetns) } }
        let netns = networkNamespace ?? slotNetns
        var joinFds: [Int32] = []
        var statusPipe: [Int32] = [-1, -1]
        var listenerPair: [Int32] = [-1, -1]
        defer { for fd in listenerPair where fd >= 0 { close(fd) } }
        func cleanup() {
            for fd in joinFds { close(fd) }
            for fd in statusPipe where fd >= 0 { close(fd) }
            try? cgroup.remove()
        }
        do {
            for path in cgroup.joinFiles {
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw HearthError.cgroup("cannot open \(path): \(String(cString: strerror(errno)))") }
                joinFds.append(fd)
            }
            guard hearth_pipe2_cloexec(&statusPipe) == 0 else {
                throw HearthError.system("pipe: \(String(cString: strerror(errno)))")
            }
            if listenerPort != nil, hearth_socketpair_seqpacket(&listenerPair) != 0 {
                throw HearthError.system("socketpair: \(String(cString: strerror(errno)))")
            }
            let started = monotonicSeconds()
            let result = try spawn(spec: spec, ops: ops, stdio: stdio, joinFds: joinFds, statusFd: statusPipe[1], netns: netns,
                                   listen: listenerPort.map { ($0, listenerPair[1]) }, control: control)
            close(statusPipe[1])
            statusPipe[1] = -1
            for fd in joinFds { close(fd) }
            joinFds = []
            let t = withUnsafeBytes(of: result.timeline_ns) { Array($0.bindMemory(to: Int64.self)) }
            let ms = { (a: Int, b: Int) in Double(t[b] - t[a]) / 1e6 }
            let timings = StartTimings(
                tmpDiskMs: tmpDisk == nil ? 0 : (beforeCgroup - beforeDisk) * 1000,
                cgroupMs: (started - beforeCgroup) * 1000, cloneMs: ms(0, 1), cgroupJoinMs: ms(1, 2),
                mountsMs: ms(2, 3), lockdownMs: ms(3, 4), execMs: ms(4, 5))
            var launched = Launched(pid: result.pid, pidfd: result.pidfd, statusFd: statusPipe[0], cgroup: cgroup, startedAt: started,
                                    timings: timings)
            if listenerPort != nil {
                // The child sent it before exec, and the spawn returns after the exec: it is waiting here.
                let listener = hearth_receive_listener(listenerPair[0])
                guard listener >= 0 else {
                    let reason = String(cString: strerror(errno))
                    try? RunningSandbox(spec: spec, launched: launched).destroy()
                    statusPipe[0] = -1  // closed by destroy
                    throw HearthError.sandboxSetup("the Runtime API listener did not arrive from the sandbox: \(reason)")
                }
                launched.listener = listener
            }
            return launched
        } catch {
            cleanup()
            throw error
        }
    }

    private func spawn(spec: SandboxSpec, ops: [MountOp], stdio: Stdio, joinFds: [Int32], statusFd: Int32, netns: Int32,
                       listen: (port: UInt16, sendFd: Int32)?, control: Int32?) throws -> hearth_spawn_result {
        let arena = CArena()
        let cOps = arena.buffer(of: hearth_op.self, count: ops.count)
        for (i, op) in ops.enumerated() {
            cOps[i] = hearth_op(kind: op.kind.rawValue, optional: op.optional ? 1 : 0,
                                source: arena.optionalString(op.source), target: arena.optionalString(op.target),
                                fstype: arena.optionalString(op.fstype), data: arena.optionalString(op.data),
                                flags: op.flags, mode: op.mode, dev: op.device, fd: op.fd)
        }
        let rlimits = Self.rlimits(for: spec.limits)
        let cLimits = arena.copy(rlimits)
        let cJoins = arena.copy(joinFds)

        // The child starts the command itself and then execs the init; a held sandbox's init gets no
        // command: it waits for one on the control socket.
        let argv = arena.stringArray(control == nil ? spec.command : ["hearth-init"])
        let envp = arena.stringArray(control == nil ? Self.environmentLines(spec) : [])

        return try seccomp.bytes.withUnsafeBytes { filter -> hearth_spawn_result in
            var config = hearth_spawn_config()
            config.clone_flags = Self.cloneFlags | (netns >= 0 ? 0 : Self.cloneNewNet)
            config.netns_fd = netns
            config.new_cgroup_ns = 1
            config.cgroup_join_fds = UnsafePointer(cJoins)
            config.n_cgroup_join_fds = joinFds.count
            config.ops = UnsafePointer(cOps)
            config.n_ops = ops.count
            config.hostname = arena.optionalString(spec.hostname)
            config.loopback_up = netns >= 0 ? 0 : 1
            config.listen_port = listen?.port ?? 0
            config.listen_send_fd = listen?.sendFd ?? -1
            config.rlimits = UnsafePointer(cLimits)
            config.n_rlimits = rlimits.count
            config.cwd = arena.optionalString(spec.workingDirectory)
            // Under host memory pressure, sandboxes go before the supervisor.
            config.oom_score_adj = 500
            config.uid = spec.uid
            config.gid = spec.gid
            config.stdin_fd = stdio.stdin
            config.stdout_fd = stdio.stdout
            config.stderr_fd = stdio.stderr
            config.status_fd = statusFd
            config.lifeline_fd = lifeline.readEnd
            config.exec_fd = initBinary.fd
            config.argv = UnsafePointer(argv)
            config.envp = UnsafePointer(envp)
            config.seccomp_filter = filter.baseAddress
            config.seccomp_len = UInt16(seccomp.instructionCount)
            config.last_cap = lastCap
            config.hold = control == nil ? 0 : 1
            config.control_fd = control ?? -1

            var result = hearth_spawn_result()
            if hearth_spawn(&config, &result) != 0 {
                throw HearthError.sandboxSetup(Self.describeFailure(result, ops: ops))
            }
            return result
        }
    }

    static func describeFailure(_ result: hearth_spawn_result, ops: [MountOp]) -> String {
        let step = String(cString: hearth_spawn_step_name(result.failed_step))
        let reason = String(cString: strerror(result.error))
        if result.failed_step == Int32(HEARTH_STEP_MOUNT_OP.rawValue), Int(result.failed_op) < ops.count {
            let op = ops[Int(result.failed_op)]
            return "\(op.kind) \(op.target)\(op.source.map { " from \($0)" } ?? ""): \(reason)"
        }
        return "\(step): \(reason)"
    }

    /// The command's environment as KEY=VALUE, with Lambda's PATH unless the spec sets one.
    static func environmentLines(_ spec: SandboxSpec) -> [String] {
        var environment = spec.environment
        if !environment.contains(where: { $0.0 == "PATH" }) { environment.insert(("PATH", SandboxSpec.defaultPath), at: 0) }
        return environment.map { "\($0.0)=\($0.1)" }
    }

    static func rlimits(for limits: ResourceLimits) -> [hearth_rlimit] {
        let nproc = UInt64(max(1024, limits.pids))
        return [
            hearth_rlimit(resource: hearth_rlimit_nofile(), soft: 1024, hard: 1024),
            hearth_rlimit(resource: hearth_rlimit_nproc(), soft: nproc, hard: nproc),
            hearth_rlimit(resource: hearth_rlimit_core(), soft: 0, hard: 0),
        ]
    }
}

/// Where a start spent its time, for benchmarks and diagnosis (milliseconds).
public struct StartTimings: Sendable, Equatable {
    /// Making the /tmp disk (0 without one).
    public var tmpDiskMs: Double
    /// Creating the cgroup(s) and writing limits.
    public var cgroupMs: Double
    /// clone with new namespaces, until the child runs.
    public var cloneMs: Double
    /// The child joining its cgroups and making its cgroup namespace.
    public var cgroupJoinMs: Double
    /// Every mount operation of the plan.
    public var mountsMs: Double
    /// Hostname, loopback, rlimits, credentials, capabilities, seccomp.
    public var lockdownMs: Double
    /// Starting the command (until it has exec'd), then exec of the init, until the parent resumes.
    public var execMs: Double

    public static let names = ["tmp disk", "cgroup create", "clone", "cgroup join", "mounts", "lockdown", "command + init exec"]
    public var values: [Double] { [tmpDiskMs, cgroupMs, cloneMs, cgroupJoinMs, mountsMs, lockdownMs, execMs] }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A pipe nothing ever writes to. Both ends are close-on-exec and stay open for the life of the process:
/// the kernel closes the write end when the process is gone, and every reader sees the hang-up.
final class Lifeline: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard hearth_pipe2_cloexec(&fds) == 0 else { throw HearthError.system("pipe: \(String(cString: strerror(errno)))") }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }
}
