#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthModel
import HearthNetwork
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
    /// Its place on the bridge, attached ahead with the internet policy; nil: loopback only.
    let attachment: NetworkAttachment?
    public var layers: [String] { held.layers }

    private init(held: HeldSandbox, server: RuntimeAPIServer, outputFd: Int32, attachment: NetworkAttachment?) {
        self.held = held
        self.server = server
        self.outputFd = outputFd
        self.attachment = attachment
    }

    /// Makes a prepared sandbox for `layers`; `limits` hold until it is specialised. With `network`, its
    /// namespace has its veth and address before its init starts.
    public static func make(layers: [String], limits: ResourceLimits, engine: SandboxEngine, network: BridgeNetwork? = nil) async throws -> PreparedSandbox {
        let namespace = try network.map { try NetworkAttachment.make(on: $0) }
        defer { if let namespace { close(namespace.fd) } }
        do {
            let launched = try await launch { stdio in
                try engine.prebuild(layers: layers, limits: limits, stdio: stdio, networkNamespace: namespace?.fd, listenerPort: RuntimeAPIServer.port)
            }
            return PreparedSandbox(held: launched.value, server: launched.server, outputFd: launched.outputFd, attachment: namespace?.attachment)
        } catch {
            namespace?.attachment.release()
            throw error
        }
    }

    /// Gives this sandbox the function (and what it may reach); it is used up either way.
    func specialise(as spec: SandboxSpec, maxConcurrency: Int, network: FunctionNetwork?, engine: SandboxEngine) async throws
        -> (value: RunningSandbox, server: RuntimeAPIServer, outputFd: Int32) {
        do {
            // Made for the other choice (the launcher keys them so): never a network the function did not ask for.
            guard (attachment == nil) == (network == nil) else {
                throw HearthError.sandboxSetup("a pre-built sandbox \(attachment == nil ? "without" : "with") a network cannot run a function \(network == nil ? "without" : "with") one")
            }
            if let attachment, let network { try attachment.apply(network) }
            // Before the runtime starts: its workers' first GET /next requests come at once.
            try await server.session.allowConcurrency(maxConcurrency).get()
            let sandbox = try engine.specialise(held, as: spec)
            return (sandbox, server, outputFd)
        } catch {
            held.discard()
            attachment?.release()
            close(outputFd)
            _ = try? await server.close().get()
            throw error
        }
    }

    /// Kills the held init, closes the Runtime API and gives its network back.
    public func discard() async {
        held.discard()
        attachment?.release()
        close(outputFd)
        _ = try? await server.close().get()
    }

    /// A sandbox made by `start` in a new network namespace, where its init has made the Runtime API's
    /// listener (127.0.0.1:9001); the server on that listener; one pipe for stdout and stderr.
    static func launch<T: ListeningSandbox>(maxConcurrency: Int = 1, start: (SandboxEngine.Stdio) throws -> T) async throws
        -> (value: T, server: RuntimeAPIServer, outputFd: Int32) {
        // stdout and stderr share one pipe: Lambda's log is one stream, and one fd per sandbox is cheaper.
        var pipe: [Int32] = [-1, -1]
        guard hearth_pipe2_cloexec(&pipe) == 0 else { throw HearthError.system("pipe: \(String(cString: strerror(errno)))") }
        let devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devnull) }
        let started: T
        do {
            started = try start(.init(stdin: devnull, stdout: pipe[1], stderr: pipe[1]))
        } catch {
            close(pipe[0])
            close(pipe[1])
            throw error
        }
        close(pipe[1])
        do {
            guard let listener = started.listener else { throw HearthError.sandboxSetup("the sandbox has no Runtime API listener") }
            // A runtime that connects before the server is up waits in the listener's backlog.
            let server = try await RuntimeAPIServer.serve(listeningSocket: listener, maxConcurrency: maxConcurrency).get()
            return (started, server, pipe[0])
        } catch {
            if let listener = started.listener { close(listener) }
            close(pipe[0])
            started.abandon()
            throw error
        }
    }
}

/// A sandbox started with a Runtime API listener (`listenerPort`): what `PreparedSandbox.launch`
/// serves, and ends again if it cannot.
protocol ListeningSandbox {
    var listener: Int32? { get }
    func abandon()
}

extension RunningSandbox: ListeningSandbox {
    func abandon() { try? destroy() }
}

extension HeldSandbox: ListeningSandbox {
    func abandon() { discard() }
}
