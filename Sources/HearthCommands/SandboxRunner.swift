#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthModel
import HearthSandbox

/// Runs one sandbox to completion with the caller's stdio pumped through pipes
/// (never handed over: a sandbox never gets our terminal).
public enum SandboxRunner {
    nonisolated(unsafe) static var forwardTo: Int32 = -1

    public static func run(_ spec: SandboxSpec, engine: SandboxEngine? = nil) throws -> SandboxExit {
        // One sandbox: its child mounts its own root, and nothing is left in the host's mount namespace.
        let engine = try engine ?? HostEngine.make(shareRoots: false, scopePrefix: "hearth-run")
        defer { engine.cgroups.releaseIfUnused() }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard hearth_pipe2_cloexec(&inPipe) == 0, hearth_pipe2_cloexec(&outPipe) == 0, hearth_pipe2_cloexec(&errPipe) == 0 else {
            throw HearthError.system("pipe: \(String(cString: strerror(errno)))")
        }
        let sandbox: RunningSandbox
        do {
            sandbox = try engine.start(spec, stdio: .init(stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1]))
        } catch {
            for fd in inPipe + outPipe + errPipe { close(fd) }
            throw error
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])

        // Our stdin feeds the sandbox's; a writer to a closed pipe must not kill us.
        signal(SIGPIPE, SIG_IGN)
        _ = OutputPump(from: dup(0), to: inPipe[1], closeDestinationAtEnd: true)
        let out = OutputPump(from: outPipe[0], to: 1)
        let err = OutputPump(from: errPipe[0], to: 2)

        forwardTo = sandbox.pidfdForSignals
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in _ = hearth_pidfd_send_signal(SandboxRunner.forwardTo, received) }
        }
        let exit = sandbox.wait()
        out.wait()
        err.wait()
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
        forwardTo = -1
        try sandbox.destroy()
        return exit
    }
}
