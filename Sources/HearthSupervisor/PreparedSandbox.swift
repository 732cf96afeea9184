#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import HearthModel
import HearthRuntimeAPI
import HearthSandbox

/// A held sandbox with its Runtime API already listening inside its network
/// namespace and its output pipe made: an execution environment for a runtime
/// image, waiting for a function. Specialising it skips the namespaces, the
/// cgroup, the mounts and the Runtime API's setup on a cold start.
public final class PreparedSandbox: @unchecked Sendable {
    public let held: HeldSandbox
    let server: RuntimeAPIServer
    let outputFd: Int32
    public var layers: [String] { held.layers }

    private init(held: HeldSandbox, server: RuntimeAPIServer, outputFd: Int32) {
        self.held = held
        self.server = server
        self.outputFd = outputFd
    }

    /// Makes a prepared sandbox for `layers`; `limits` hold until it is specialised.
    public static func make(layers: [String], limits: ResourceLimits, engine: SandboxEngine) async throws -> PreparedSandbox {
        let launched = try await launch(engine: engine) { stdio, netns in
            try engine.prebuild(layers: layers, limits: limits, stdio: stdio, networkNamespace: netns)
        }
        return PreparedSandbox(held: launched.value, server: launched.server, outputFd: launched.outputFd)
    }

    /// Gives this sandbox the function; it is used up either way.
    func specialise(as spec: SandboxSpec, engine: SandboxEngine) async throws -> (value: RunningSandbox, server: RuntimeAPIServer, outputFd: Int32) {
        do {
            let sandbox = try engine.specialise(held, as: spec)
            return (sandbox, server, outputFd)
        } catch {
            close(outputFd)
            _ = try? await server.close().get()
            throw error
        }
    }

    /// Kills the held init and closes the Runtime API.
    public func discard() async {
        held.discard()
        close(outputFd)
        _ = try? await server.close().get()
    }

    /// The network namespace with the Runtime API listening at 127.0.0.1:9001, one pipe for
    /// stdout and stderr, and whatever `start` makes in them.
    static func launch<T>(engine: SandboxEngine, start: (SandboxEngine.Stdio, Int32) throws -> T) async throws -> (value: T, server: RuntimeAPIServer, outputFd: Int32) {
        let home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw HearthError.system("cannot open /proc/self/ns/net: \(String(cString: strerror(errno)))") }
        defer { close(home) }
        var listener: Int32 = -1
        let netns = hearth_netns_create_with_listener(home, 9001, &listener)
        guard netns >= 0 else {
            throw HearthError.sandboxSetup("cannot create the network namespace and Runtime API listener: \(String(cString: strerror(errno)))")
        }
        defer { close(netns) }
        let server = try await RuntimeAPIServer.serve(listeningSocket: listener).get()

        // stdout and stderr share one pipe: Lambda's log is one stream, and one fd per sandbox is cheaper.
        var pipe: [Int32] = [-1, -1]
        guard hearth_pipe2_cloexec(&pipe) == 0 else {
            _ = try? await server.close().get()
            throw HearthError.system("pipe: \(String(cString: strerror(errno)))")
        }
        let devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devnull) }
        do {
            let value = try start(.init(stdin: devnull, stdout: pipe[1], stderr: pipe[1]), netns)
            close(pipe[1])
            return (value, server, pipe[0])
        } catch {
            close(pipe[0])
            close(pipe[1])
            _ = try? await server.close().get()
            throw error
        }
    }
}
