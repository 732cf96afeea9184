#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import CSyscalls
import HearthCgroups
import HearthModel
import Synchronization

/// A sandbox made ahead for one root filesystem (a runtime image): namespaces,
/// cgroup, root, /proc, /dev and /tmp are ready and PID 1 waits, still
/// privileged, with nothing of any function inside. `SandboxEngine.specialise`
/// turns it into a function's sandbox; until then it is only ever discarded.
public final class HeldSandbox: @unchecked Sendable {
    /// The spec it was made with: its root's lower directories (a function must have exactly these) and its id.
    let spec: SandboxSpec
    public var layers: [String] { spec.layers }
    public var id: String { spec.id }
    let parts: Mutex<Parts?>
    /// The socket asked for with `prebuild(listenerPort:)`; the caller's to close.
    public let listener: Int32?

    struct Parts {
        var launched: SandboxEngine.Launched
        /// The supervisor's end of the control socket.
        var control: Int32
    }

    init(spec: SandboxSpec, parts: Parts) {
        self.spec = spec
        self.parts = Mutex(parts)
        listener = parts.launched.listener
    }

    deinit { discard() }

    /// Ownership of the parts, once: to `specialise` or to `discard`.
    func take() -> Parts? { parts.withLock { value in defer { value = nil }; return value } }

    /// Kills PID 1 and releases the cgroup, as for any sandbox. Idempotent.
    public func discard() {
        guard let p = take() else { return }
        close(p.control)
        try? RunningSandbox(spec: spec, launched: p.launched).destroy()
    }
}

extension SandboxEngine {
    /// How long a held init may take to attach the code and lock down before the start is given up.
    static let specialiseTimeoutMs: Int32 = 10_000

    /// Makes a held sandbox whose root is `layers` (with the skeleton on top), in `networkNamespace`
    /// (the caller keeps that fd), writing to `stdio`.
    public func prebuild(layers: [String], limits: ResourceLimits, stdio: Stdio, networkNamespace: Int32?,
                         listenerPort: UInt16? = nil) throws -> HeldSandbox {
        let ids = SandboxIdentity.oneShot()
        // The command is never run (the init gets none); the uid only satisfies validation until the function's is sent.
        let spec = SandboxSpec(id: SandboxIdentity.newID(), layers: layers, command: ["/"], limits: limits, uid: ids.uid, gid: ids.gid)
        try spec.validate()
        var pair: [Int32] = [-1, -1]
        guard hearth_socketpair_seqpacket(&pair) == 0 else {
            throw HearthError.system("socketpair: \(String(cString: strerror(errno)))")
        }
        defer { close(pair[1]) }
        do {
            let launched = try launch(spec, stdio: stdio, networkNamespace: networkNamespace, listenerPort: listenerPort, control: pair[1])
            return HeldSandbox(spec: spec, parts: .init(launched: launched, control: pair[0]))
        } catch {
            close(pair[0])
            throw error
        }
    }

    /// Gives a held sandbox a function: its limits on the cgroup, its code attached read-only where
    /// `spec.binds` say, /tmp sized, hostname, uid, capabilities dropped, seccomp, then its command.
    /// The held sandbox is used up either way.
    public func specialise(_ held: HeldSandbox, as spec: SandboxSpec) throws -> RunningSandbox {
        var spec = spec
        spec.id = held.id
        try spec.validate()
        guard spec.layers == held.layers else {
            held.discard()
            throw HearthError.invalidArgument("the function's root layers differ from the prepared sandbox's")
        }
        guard let parts = held.take() else { throw HearthError.sandboxSetup("the prepared sandbox was already used") }
        // The function's timeout counts from here, not from when the sandbox was made.
        var launched = parts.launched
        launched.startedAt = monotonicSeconds()
        launched.listener = nil  // the held sandbox's, and so its owner's
        let sandbox = RunningSandbox(spec: spec, launched: launched)
        defer { close(parts.control) }
        do {
            try launched.cgroup.apply(spec.limits)
            if spec.burstCPUAtStart { try launched.cgroup.setCPULimit(nil) }
            try send(spec, to: parts.control)
            var reply = hearth_held_reply()
            guard hearth_held_await_reply(parts.control, Self.specialiseTimeoutMs, &reply) == 0 else {
                throw HearthError.sandboxSetup("the prepared sandbox did not answer: \(String(cString: strerror(errno)))")
            }
            if reply.step != 0 {
                let step = String(cString: hearth_spawn_step_name(reply.step))
                let targets = spec.binds.map(\.target) + ["/tmp"]
                let target = reply.step == Int32(HEARTH_STEP_HELD_MOUNT.rawValue) && Int(reply.index) < targets.count
                    ? " at \(targets[Int(reply.index)])" : ""
                throw HearthError.sandboxSetup("\(step)\(target): \(String(cString: strerror(reply.error)))")
            }
            return sandbox
        } catch {
            sandbox.kill()
            try? sandbox.destroy()
            throw error
        }
    }

    private func send(_ spec: SandboxSpec, to control: Int32) throws {
        let arena = CArena()
        var mountFds: [Int32] = []
        defer { for fd in mountFds { close(fd) } }
        // The binds, then /tmp's disk if there is one.
        guard spec.binds.count < Int(HEARTH_HELD_MAX_MOUNTS) else {
            throw HearthError.invalidArgument("too many mounts (\(spec.binds.count))")
        }
        let mounts = arena.buffer(of: hearth_held_mount.self, count: spec.binds.count + 1)
        for (i, bind) in spec.binds.enumerated() {
            _ = try MountPlan.bindTarget(bind)
            // The same mounts MountPlan gives a new sandbox: one directory bound, several stacked.
            let fd = bind.sources.count == 1 ? hearth_detached_bind(bind.sources[0])
                : hearth_detached_overlay(try MountPlan.lowerdirList(topFirst: bind.sources.reversed()))
            guard fd >= 0 else {
                throw HearthError.sandboxSetup("cannot prepare the mount for \(bind.target): \(String(cString: strerror(errno)))")
            }
            mountFds.append(fd)
            mounts[i] = hearth_held_mount(fd: fd, target: arena.optionalString(bind.target))
        }
        var mountCount = spec.binds.count
        if let disks = ephemeralDisks {
            let fd = try disks.make(sizeMB: spec.limits.tmpSizeMB)
            mountFds.append(fd)
            mounts[mountCount] = hearth_held_mount(fd: fd, target: arena.optionalString("/tmp"))
            mountCount += 1
        }
        let rlimits = Self.rlimits(for: spec.limits)
        let cLimits = arena.copy(rlimits)
        let argv = arena.stringArray(spec.command)
        let envp = arena.stringArray(Self.environmentLines(spec))
        let tmp = MountPlan.tmpSizes(spec.limits)

        let rc = seccomp.bytes.withUnsafeBytes { filter -> Int32 in
            var config = hearth_held_config()
            config.mounts = UnsafePointer(mounts)
            config.n_mounts = mountCount
            config.hostname = arena.optionalString(spec.hostname)
            config.tmp_size_mb = UInt32(tmp.sizeMB)
            config.tmp_inodes = UInt32(tmp.inodes)
            config.lockdown.rlimits = UnsafePointer(cLimits)
            config.lockdown.n_rlimits = rlimits.count
            config.lockdown.cwd = arena.optionalString(spec.workingDirectory)
            config.lockdown.uid = spec.uid
            config.lockdown.gid = spec.gid
            config.lockdown.last_cap = lastCap
            // stdio and the init's own fds (the status pipe, the lifeline) stay open for the init.
            config.lockdown.keep_below = UInt32(HEARTH_FD_FIRST_FREE)
            config.lockdown.seccomp_filter = filter.baseAddress
            config.lockdown.seccomp_len = UInt16(seccomp.instructionCount)
            config.argv = UnsafePointer(argv)
            config.envp = UnsafePointer(envp)
            return hearth_held_send(control, &config)
        }
        guard rc == 0 else {
            throw HearthError.sandboxSetup("cannot hand the function to the prepared sandbox: \(String(cString: strerror(errno)))")
        }
    }
}
