#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import Foundation
import HearthModel
import HearthRuntimeAPI
import HearthSandbox
import NIOCore

/// A function ready to run: its sandbox spec (layers, mounts, command,
/// environment) and Lambda's knobs.
public struct FunctionInstance: Sendable {
    public var name: String
    public var version: String
    public var spec: SandboxSpec
    public var timeoutSeconds: Double
    public var region: String

    public init(name: String, version: String = "$LATEST", spec: SandboxSpec, timeoutSeconds: Double, region: String = "us-east-1") {
        self.name = name
        self.version = version
        self.spec = spec
        self.timeoutSeconds = timeoutSeconds
        self.region = region
    }
}

/// The caller's view of an invocation.
public struct InvocationResult: Sendable {
    public enum Body: Sendable, Equatable {
        case success([UInt8])
        /// An error document and its type (X-Amz-Function-Error: Unhandled).
        case error([UInt8], type: String)
    }

    public var requestId: String
    public var body: Body
    public var report: InvocationLog.Report
}

/// One cold invocation from start to teardown, as Lambda runs it: a fresh
/// sandbox whose network namespace has the Runtime API listening at
/// 127.0.0.1:9001; an init phase of at most 10 s that ends at the runtime's
/// first GET /next; the event with the function's deadline; Lambda's error
/// shapes when the sandbox times out, runs out of memory or exits.
public struct ColdInvoker: Sendable {
    public static let initTimeoutSeconds = 10.0

    public let engine: SandboxEngine

    public init(engine: SandboxEngine) { self.engine = engine }

    public func invoke(_ function: FunctionInstance, payload: [UInt8], log: InvocationLog) throws -> InvocationResult {
        let requestId = UUID().uuidString.lowercased()
        let started = Date()

        let home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw HearthError.system("cannot open /proc/self/ns/net: \(String(cString: strerror(errno)))") }
        defer { close(home) }
        var listener: Int32 = -1
        let netns = hearth_netns_create_with_listener(home, 9001, &listener)
        guard netns >= 0 else { throw HearthError.sandboxSetup("cannot create the network namespace and Runtime API listener: \(String(cString: strerror(errno)))") }
        defer { close(netns) }
        let server = try RuntimeAPIServer.serve(listeningSocket: listener).wait()
        defer { _ = try? server.close().wait() }

        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard hearth_pipe2_cloexec(&outPipe) == 0, hearth_pipe2_cloexec(&errPipe) == 0 else {
            throw HearthError.system("pipe: \(String(cString: strerror(errno)))")
        }
        let devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devnull) }
        let sandbox: RunningSandbox
        do {
            sandbox = try engine.start(function.spec, stdio: .init(stdin: devnull, stdout: outPipe[1], stderr: errPipe[1]), networkNamespace: netns)
        } catch {
            for fd in outPipe + errPipe { close(fd) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        let pumps = [LogPump(fd: outPipe[0], log: log), LogPump(fd: errPipe[0], log: log)]

        let mailbox = Mailbox()
        Thread {
            let exit = sandbox.wait()
            mailbox.post(.exited(exit))
            server.session.close(.platformError(errorType: "Runtime.ExitError", message: LambdaErrors.describe(exit.status)), reason: "the runtime exited")
        }.start()
        server.session.initOutcome.futureResult.whenComplete { result in
            if case .success(let outcome) = result { mailbox.post(.initialized(outcome)) }
        }

        func finish(_ body: InvocationResult.Body, durationMs: Double, initMs: Double?, status: String?, errorType: String?) -> InvocationResult {
            sandbox.kill()
            let exit = mailbox.waitForExit()
            for pump in pumps { pump.wait() }
            try? sandbox.destroy()
            let peak = exit?.stats.peakMemoryBytes ?? 0
            let report = InvocationLog.Report(
                durationMs: durationMs, memorySizeMB: function.spec.limits.memoryMB,
                maxMemoryUsedMB: Int((Double(peak) / 1_048_576).rounded(.up)), initDurationMs: initMs, status: status, errorType: errorType)
            log.end(requestId: requestId)
            log.report(requestId: requestId, report)
            return InvocationResult(requestId: requestId, body: body, report: report)
        }

        // Init: until the runtime asks for its first event, at most 10 s.
        let initDeadline = started.addingTimeInterval(Self.initTimeoutSeconds)
        var initMs: Double?
        switch mailbox.next(until: initDeadline) {
        case .initialized(.ready):
            initMs = Date().timeIntervalSince(started) * 1000
            // Init ran with burst CPU; from the first event on, the share in proportion to memory.
            try? sandbox.cgroup.setCPULimit(function.spec.limits)
        case .initialized(.failed(let body, let type)):
            log.start(requestId: requestId, version: function.version)
            let ms = Date().timeIntervalSince(started) * 1000
            return finish(.error(body, type: type), durationMs: ms, initMs: ms, status: "error", errorType: type)
        case .exited(let exit):
            log.start(requestId: requestId, version: function.version)
            let ms = Date().timeIntervalSince(started) * 1000
            let type = exit.limit.map { if case .outOfMemory = $0 { "Runtime.OutOfMemory" } else { "Runtime.ExitError" } } ?? "Runtime.ExitError"
            return finish(.error(LambdaErrors.exited(requestId: requestId, status: exit.status), type: "Runtime.ExitError"),
                          durationMs: ms, initMs: ms, status: "error", errorType: type)
        case .outcome, nil:
            log.start(requestId: requestId, version: function.version)
            let ms = Date().timeIntervalSince(started) * 1000
            let body = LambdaErrors.document(type: "Sandbox.Timedout",
                                             message: "RequestId: \(requestId) Error: Init phase timed out after \(String(format: "%.2f", Self.initTimeoutSeconds)) seconds")
            return finish(.error(body, type: "Sandbox.Timedout"), durationMs: ms, initMs: ms, status: "timeout", errorType: nil)
        }

        // Invoke: the event, the function's deadline.
        log.start(requestId: requestId, version: function.version)
        let invokeStart = Date()
        let deadline = invokeStart.addingTimeInterval(function.timeoutSeconds)
        let invocation = RuntimeInvocation(
            requestId: requestId, payload: payload, deadlineMs: Int64(deadline.timeIntervalSince1970 * 1000),
            invokedFunctionArn: "arn:aws:lambda:\(function.region):000000000000:function:\(function.name)",
            traceId: Self.traceId())
        server.session.invoke(invocation).whenSuccess { mailbox.post(.outcome($0)) }
        let event = mailbox.next(until: deadline)
        let ms = Date().timeIntervalSince(invokeStart) * 1000
        switch event {
        case .outcome(.response(let bytes)):
            return finish(.success(bytes), durationMs: ms, initMs: initMs, status: nil, errorType: nil)
        case .outcome(.functionError(let body, let type)):
            return finish(.error(body, type: type), durationMs: ms, initMs: initMs, status: "error", errorType: type)
        case .outcome(.platformError(let type, let message)):
            // The session closes with this when the runtime exits; the exit itself tells more.
            if type == "Runtime.ExitError", let exit = mailbox.waitForExit(timeout: 1) {
                    return exitResult(exit, ms: ms)
            }
            return finish(.error(LambdaErrors.document(type: type, message: "RequestId: \(requestId) Error: \(message)"), type: type),
                          durationMs: ms, initMs: initMs, status: "error", errorType: type)
        case .exited(let exit):
            return exitResult(exit, ms: ms)
        case .initialized, nil:
            return finish(.error(LambdaErrors.timedOut(requestId: requestId, seconds: function.timeoutSeconds), type: "Sandbox.Timedout"),
                          durationMs: ms, initMs: initMs, status: "timeout", errorType: nil)
        }

        func exitResult(_ exit: SandboxExit, ms: Double) -> InvocationResult {
            // Lambda's caller sees Runtime.ExitError ("signal: killed"); the REPORT line says out of memory.
            let oom: Bool = if case .outOfMemory = exit.limit { true } else { false }
            return finish(.error(LambdaErrors.exited(requestId: requestId, status: exit.status), type: "Runtime.ExitError"),
                          durationMs: ms, initMs: initMs, status: "error", errorType: oom ? "Runtime.OutOfMemory" : "Runtime.ExitError")
        }
    }

    /// An X-Ray header as Lambda sends one: Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0.
    static func traceId() -> String {
        var rng = SystemRandomNumberGenerator()
        func hex(_ digits: Int) -> String {
            (0..<digits).map { _ in String(rng.next() % 16, radix: 16) }.joined()
        }
        let epoch = String(UInt32(Date().timeIntervalSince1970), radix: 16)
        return "Root=1-\(epoch)-\(hex(24));Parent=\(hex(16));Sampled=0"
    }
}

/// What the invoker waits for, from the event loop and the exit watcher.
final class Mailbox: @unchecked Sendable {
    enum Event {
        case initialized(InitOutcome)
        case outcome(InvocationOutcome)
        case exited(SandboxExit)
    }

    private let condition = NSCondition()
    private var events: [Event] = []
    /// Kept apart from the queue: whoever takes the exit event, `waitForExit` still sees it.
    private var exit: SandboxExit?

    func post(_ event: Event) {
        condition.lock()
        if case .exited(let e) = event { exit = e }
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    /// The next event, or nil when `deadline` passes first.
    func next(until deadline: Date) -> Event? {
        condition.lock()
        defer { condition.unlock() }
        while events.isEmpty {
            if !condition.wait(until: deadline) { return nil }
        }
        return events.removeFirst()
    }

    func waitForExit(timeout: Double = 60) -> SandboxExit? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while exit == nil {
            if !condition.wait(until: deadline) { return nil }
        }
        return exit
    }
}

/// Copies a sandbox's output into the invocation log.
final class LogPump: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32, log: InvocationLog) {
        Thread { [done] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                log.append(Array(buffer[0..<n]))
            }
            close(fd)
            done.signal()
        }.start()
    }

    func wait() { done.wait() }
}
