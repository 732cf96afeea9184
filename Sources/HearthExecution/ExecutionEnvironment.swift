#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import HearthNetwork
import HearthRuntimeAPI
import HearthSandbox
import NIOCore
import Synchronization

/// One Lambda execution environment: a sandbox whose network namespace has the
/// Runtime API at 127.0.0.1:9001, started once, initialised once (at most 10 s,
/// ending at the runtime's first GET /next), then handed one event at a time
/// (up to `function.maxConcurrency` at once, for an always-on environment) for as
/// long as it stays healthy. A timeout, an exit or an out-of-memory kill ends it
/// for good; with several events at once, a timeout ends that one and retires the
/// environment, whose other events finish.
public final class ExecutionEnvironment: @unchecked Sendable {
    public static let initTimeoutSeconds = 10.0

    /// How the init phase ended.
    public enum InitResult: Sendable {
        case ready
        case failed(body: [UInt8], errorType: String)
        case timedOut
        case exited(SandboxExit)
    }

    public let function: FunctionInstance
    public let sandbox: RunningSandbox
    public let initResult: InitResult
    public let initDurationMs: Double
    public var id: String { sandbox.spec.id }

    private let server: RuntimeAPIServer
    /// The event loop that serves this sandbox's Runtime API.
    var eventLoop: any EventLoop { server.session.eventLoop }
    private let exitPromise: EventLoopPromise<SandboxExit>
    private let output: OutputDrain
    /// Its place on the bridge; nil: loopback only.
    private let attachment: NetworkAttachment?

    /// Where it is in its life; shared with the exit watcher, which marks it dead.
    private let lifecycle: Lifecycle
    public var state: EnvironmentState { lifecycle.state }
    /// False once a hard failure ended the sandbox, or its runtime exited (between invocations too); it is never reused.
    public var isHealthy: Bool { state != .dead }

    private init(function: FunctionInstance, sandbox: RunningSandbox, server: RuntimeAPIServer, exitPromise: EventLoopPromise<SandboxExit>,
                 lifecycle: Lifecycle, output: OutputDrain, initResult: InitResult, initDurationMs: Double, attachment: NetworkAttachment?) {
        self.lifecycle = lifecycle
        self.attachment = attachment
        self.function = function
        self.sandbox = sandbox
        self.server = server
        self.exitPromise = exitPromise
        self.output = output
        self.initResult = initResult
        self.initDurationMs = initDurationMs
        if case .ready = initResult { lifecycle.move(from: .starting, to: .idle) } else { lifecycle.markDead() }
    }

    /// Starts the sandbox and runs the init phase. Output that arrives while no
    /// invocation is running goes to `idleOutput` (the function's log).
    /// - Throws: when the sandbox cannot be created at all.
    /// - Parameter prepared: a prepared sandbox for the function's root layers, specialised instead of starting a new one.
    /// - Parameter mayFreeze: asked each time the environment goes idle whether to freeze it (Lambda's freeze); nil, never.
    /// - Parameter network: the bridge and what the function may reach; nil, loopback only. A prepared
    ///   sandbox must have been made for the same choice.
    public static func start(_ function: FunctionInstance, engine: SandboxEngine, prepared: PreparedSandbox? = nil,
                             network: NetworkPlan? = nil, mayFreeze: (@Sendable () -> Bool)? = nil,
                             idleOutput: @escaping @Sendable ([UInt8]) -> Void = { _ in }) async throws -> ExecutionEnvironment {
        let started = Date()
        let sparePause = SparePause([engine.ephemeralDisks as (any PausedDuringStarts)?, network?.spares].compactMap { $0 })
        let sandbox: RunningSandbox, server: RuntimeAPIServer, outputFd: Int32
        let attachment: NetworkAttachment?
        if let prepared {
            (sandbox, server, outputFd) = try await prepared.specialise(as: function.spec, maxConcurrency: function.maxConcurrency, network: network?.allowed, engine: engine)
            attachment = prepared.attachment
        } else {
            let namespace = try network.map { try $0.attach() }
            defer { if let namespace { close(namespace.fd) } }
            do {
                (sandbox, server, outputFd) = try await PreparedSandbox.launch(maxConcurrency: function.maxConcurrency) { stdio in
                    try engine.start(function.spec, stdio: stdio, networkNamespace: namespace?.fd, listenerPort: RuntimeAPIServer.port)
                }
            } catch {
                namespace?.attachment.release()
                throw error
            }
            attachment = namespace?.attachment
        }
        let output = OutputDrain(fd: outputFd, idle: idleOutput)

        let session = server.session
        let exitPromise = session.eventLoop.makePromise(of: SandboxExit.self)
        let lifecycle = Lifecycle()
        try SandboxWatcher.shared.watch(fd: sandbox.pidfdForSignals, once: true) { _ in
            let exit = sandbox.wait()
            lifecycle.markDead()
            exitPromise.succeed(exit)
            session.close(.platformError(.runtimeExited(detail: LambdaErrors.describe(exit.status))), reason: "the runtime exited")
        }

        // Init: until the runtime asks for its first event, at most 10 s, with burst CPU.
        let initResult: InitResult
        let initTimedOut = Atomic(false)
        let timer = session.eventLoop.scheduleTask(in: .milliseconds(Int64(initTimeoutSeconds * 1000))) {
            initTimedOut.store(true, ordering: .relaxed)
            session.close(.platformError(.timedOut), reason: "init timed out")
        }
        do {
            switch try await session.initOutcome.futureResult.get() {
            case .ready: initResult = .ready
            case .failed(let body, let type): initResult = .failed(body: body, errorType: type)
            }
        } catch {
            // The session closed: the runtime exited, or the init timer fired.
            if initTimedOut.load(ordering: .relaxed) {
                initResult = .timedOut
            } else {
                initResult = .exited(try await exitPromise.futureResult.get())
            }
        }
        timer.cancel()
        // The first event is answered meanwhile: made beside its answer, a spare delayed it too.
        session.eventLoop.scheduleTask(in: .milliseconds(SparePause.resumeAfterMs)) { sparePause.end() }
        let initMs = Date().timeIntervalSince(started) * 1000
        if case .ready = initResult {
            // From the first event on, CPU in proportion to memory.
            try? sandbox.cgroup.setCPULimit(function.spec.limits)
            // Between invocations the sandbox is frozen, as Lambda freezes an environment: what it left
            // running in the background neither runs nor costs CPU until the next event.
            if let mayFreeze, let freezer = sandbox.cgroup.freezer {
                session.observeIdle { idle in
                    if !idle {
                        try? freezer.thaw()
                    } else if mayFreeze() {
                        try? freezer.freeze()
                    }
                }
            }
        }
        return ExecutionEnvironment(function: function, sandbox: sandbox, server: server, exitPromise: exitPromise, lifecycle: lifecycle,
                                    output: output, initResult: initResult, initDurationMs: initMs, attachment: attachment)
    }

    /// What the caller of one invocation asks for.
    public struct Request: Sendable {
        public var requestId: String
        public var payload: [UInt8]
        public var clientContext: String?
        /// Init Duration for the REPORT line: set on the first invocation of a cold start.
        public var reportInit: Bool
        /// Where a response the runtime streams goes as it arrives.
        public var stream: ResponseSink?
        /// The qualifier the caller named ($LATEST, a version or an alias): the function ARN the runtime is told
        /// it was invoked by carries it, as on Lambda; without one, the unqualified ARN.
        public var qualifier: String?

        public init(requestId: String = RequestIdentifiers.uuid(), payload: [UInt8], clientContext: String? = nil, reportInit: Bool,
                    stream: ResponseSink? = nil, qualifier: String? = nil) {
            self.requestId = requestId
            self.payload = payload
            self.clientContext = clientContext
            self.reportInit = reportInit
            self.stream = stream
            self.qualifier = qualifier
        }
    }

    /// Runs one invocation (or reports why init failed) between START and REPORT in `log`.
    public func invoke(_ request: Request, log: InvocationLog) async -> InvocationResult {
        let requestId = request.requestId
        let initMs = request.reportInit ? initDurationMs : nil
        // A runtime working on several events at once writes for all of them into one pipe: its lines go
        // to the function's log, each invocation's own log has its START, END and REPORT lines.
        let shared = function.maxConcurrency > 1
        defer { if !shared { output.end() } }
        log.start(requestId: requestId, version: function.version)
        // A runtime's output joins the invocation once it has the event (below); after a failed init, what it wrote is the invocation's.
        if case .ready = initResult {} else if !shared { output.begin(log) }

        switch initResult {
        case .ready: break
        case .failed(let body, let type):
            return await finish(requestId, .functionError(type: type), body: body, ms: initDurationMs, initMs: initDurationMs, log: log)
        case .timedOut:
            let message = "Init phase timed out after \(String(format: "%.2f", Self.initTimeoutSeconds)) seconds"
            return await finish(requestId, .platform(.timedOut), body: LambdaErrors.document(.timedOut, requestId: requestId, message: message),
                                ms: initDurationMs, initMs: initDurationMs, log: log)
        case .exited(let exit):
            return await exitResult(exit, requestId: requestId, ms: initDurationMs, initMs: initDurationMs, log: log)
        }
        guard lifecycle.acquire(limit: function.maxConcurrency) else {
            let failure = PlatformFailure.unknown(isHealthy ? "the execution environment is not idle" : "the execution environment is gone")
            return await finish(requestId, .platform(failure), body: LambdaErrors.document(failure, requestId: requestId), ms: 0, initMs: nil, log: log)
        }

        let session = server.session
        let started = Date()
        let timeout = function.timeoutSeconds
        let invocation = RuntimeInvocation(
            requestId: requestId, payload: request.payload,
            deadlineMs: Int64((started.timeIntervalSince1970 + timeout) * 1000),
            invokedFunctionArn: request.qualifier.map { function.arn + ":" + $0 } ?? function.arn, traceId: Self.traceId(),
            clientContext: request.clientContext)
        let sandbox = self.sandbox
        let lifecycle = self.lifecycle
        let timedOut = Atomic(false)
        let timer = session.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            // Marked first: the kill makes the runtime exit, and that must not read as a crash.
            timedOut.store(true, ordering: .sequentiallyConsistent)
            if shared {
                // Its siblings run on in the same runtime: this one ends now, and the environment takes no
                // more events; the scheduler destroys it once the others are answered.
                lifecycle.drain()
                session.abandon(requestId: requestId, with: .platformError(.timedOut))
            } else {
                session.close(.platformError(.timedOut), reason: "the invocation timed out")
                sandbox.kill()
            }
        }
        // Output from before the runtime takes the event (the end of its previous one) stays out of this invocation's log.
        let output = self.output
        let delivered: (@Sendable () -> Void)? = shared ? nil : { @Sendable in output.begin(log) }
        var outcome = (try? await session.invoke(invocation, stream: request.stream, onDelivered: delivered).get())
            ?? .platformError(.unknown("the Runtime API failed"))
        timer.cancel()
        if timedOut.load(ordering: .sequentiallyConsistent), case .platformError = outcome {
            outcome = .platformError(.timedOut)
        }
        let ms = Date().timeIntervalSince(started) * 1000

        switch outcome {
        case .response(let bytes):
            return await finish(requestId, .success, body: bytes, ms: ms, initMs: initMs, log: log)
        case .functionError(let body, let type):
            return await finish(requestId, .functionError(type: type), body: body, ms: ms, initMs: initMs, log: log)
        case .platformError(.timedOut):
            if !shared { markDead() }
            return await finish(requestId, .platform(.timedOut), body: LambdaErrors.timedOut(requestId: requestId, seconds: timeout),
                                ms: ms, initMs: initMs, log: log)
        case .platformError(let failure):
            if case .runtimeExited = failure {
                markDead()
                if let exit = try? await exitPromise.futureResult.get() {
                    return await exitResult(exit, requestId: requestId, ms: ms, initMs: initMs, log: log)
                }
            }
            // An oversize response: the runtime was told 413 and carries on; the caller gets the platform's error.
            return await finish(requestId, .platform(failure), body: LambdaErrors.document(failure, requestId: requestId), ms: ms, initMs: initMs, log: log)
        }
    }

    private func exitResult(_ exit: SandboxExit, requestId: String, ms: Double, initMs: Double?, log: InvocationLog) async -> InvocationResult {
        markDead()
        // The caller sees Runtime.ExitError ("signal: killed"); the REPORT line says out of memory.
        let oom: Bool = if case .outOfMemory = exit.limit { true } else { false }
        return await finish(requestId, .runtimeExit(outOfMemory: oom), body: LambdaErrors.exited(requestId: requestId, status: exit.status),
                            ms: ms, initMs: initMs, log: log)
    }

    /// The one place an invocation's end becomes its result and its log's END and REPORT lines.
    private func finish(_ requestId: String, _ end: InvocationEnd, body: [UInt8], ms: Double, initMs: Double?,
                        log: InvocationLog) async -> InvocationResult {
        let peak: Int64?
        if isHealthy {
            // Whatever the runtime wrote before it answered is in the pipe already.
            output.drainAvailable()
            peak = sandbox.cgroup.peakMemoryBytes()
        } else {
            sandbox.kill()
            // The answer does not wait for a sandbox that takes long to die (a fork bomb's thousand
            // processes): its teardown does. Its log keeps what it wrote until then.
            if let exit = await exit(within: .milliseconds(50)) {
                await output.drainToEnd()
                peak = exit.stats.peakMemoryBytes
            } else {
                output.drainAvailable()
                peak = sandbox.cgroup.peakMemoryBytes()
            }
        }
        let report = InvocationLog.Report(
            durationMs: ms, memorySizeMB: function.spec.limits.memoryMB,
            maxMemoryUsedMB: Int((Double(peak ?? 0) / 1_048_576).rounded(.up)), initDurationMs: initMs, end: end)
        log.end(requestId: requestId, status: report.status ?? "success")
        log.report(requestId: requestId, report)
        lifecycle.release()
        return InvocationResult(requestId: requestId, end: end, body: end.errorType.map { .error(body, type: $0) } ?? .success(body), report: report)
    }

    /// The sandbox's exit if it comes within `wait`, else nil.
    private func exit(within wait: TimeAmount) async -> SandboxExit? {
        let loop = eventLoop
        let result = loop.makePromise(of: SandboxExit?.self)
        loop.execute {
            let done = NIOLoopBoundBox(false, eventLoop: loop)
            let timer = loop.scheduleTask(in: wait) {
                if !done.value { done.value = true; result.succeed(nil) }
            }
            self.exitPromise.futureResult.hop(to: loop).whenComplete { outcome in
                timer.cancel()
                if !done.value { done.value = true; result.succeed(try? outcome.get()) }
            }
        }
        return (try? await result.futureResult.get()) ?? nil
    }

    /// An X-Ray header as Lambda sends one: Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0.
    static func traceId() -> String {
        RequestIdentifiers.traceHeader(epochSeconds: UInt32(Date().timeIntervalSince1970))
    }

    private func markDead() { lifecycle.markDead() }

    /// Retired by the scheduler (its version changed): it finishes the invocation it runs, if any, and is not used again.
    public func drain() { lifecycle.drain() }

    /// Kills the sandbox and releases everything it held. Idempotent.
    public func destroy() async {
        markDead()
        sandbox.kill()
        _ = try? await exitPromise.futureResult.get()
        await output.drainToEnd()
        _ = try? await server.close().get()
        try? sandbox.destroy()
        attachment?.release()
    }
}

/// Where an execution environment is in its life, in one place: starting until its init ends, then idle
/// and busy in turn; draining once retired while in use; dead after a hard failure, its runtime's exit or
/// its destruction, for good.
public enum EnvironmentState: UInt8, Sendable {
    case starting, idle, busy, draining, dead
}

/// An environment's state, changed by its invocations, the scheduler and the exit watcher's thread,
/// with the number of invocations it runs now.
final class Lifecycle: Sendable {
    private struct Current {
        var state = EnvironmentState.starting
        var busy = 0
    }
    private let current = Mutex(Current())

    var state: EnvironmentState { current.withLock { $0.state } }
    /// Invocations running in it now.
    var busyCount: Int { current.withLock { $0.busy } }

    /// Moves to `to` only from `from`; false (and no change) from any other state.
    @discardableResult
    func move(from: EnvironmentState, to: EnvironmentState) -> Bool {
        current.withLock { current in
            guard current.state == from else { return false }
            current.state = to
            return true
        }
    }

    /// Takes one of `limit` places: from idle, or from busy while fewer than `limit` invocations run.
    func acquire(limit: Int) -> Bool {
        current.withLock { current in
            guard current.state == .idle || (current.state == .busy && current.busy < limit) else { return false }
            current.busy += 1
            current.state = .busy
            return true
        }
    }

    /// An invocation ended: busy becomes idle with the last one; draining and dead stay as they are.
    func release() {
        current.withLock { current in
            current.busy = max(0, current.busy - 1)
            if current.busy == 0 && current.state == .busy { current.state = .idle }
        }
    }

    func markDead() { current.withLock { $0.state = .dead } }

    /// Retired: from idle, or from busy (its invocations finish); starting and dead stay as they are.
    func drain() {
        current.withLock { current in
            if current.state == .idle || current.state == .busy { current.state = .draining }
        }
    }
}

/// The read end of a sandbox's output pipe: drained by the watcher thread as
/// data arrives and by the invocation before its END line, into the current
/// invocation's log or, between invocations, the function's log.
final class OutputDrain: @unchecked Sendable {
    private struct State {
        var fd: Int32
        var log: InvocationLog?
        var token: UInt64 = 0
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>
    private let idle: @Sendable ([UInt8]) -> Void

    init(fd: Int32, idle: @escaping @Sendable ([UInt8]) -> Void) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        state = Mutex(State(fd: fd))
        self.idle = idle
        let token = try? SandboxWatcher.shared.watch(fd: fd, once: false) { [weak self] hangup in
            self?.drainAvailable(hangup: hangup)
        }
        state.withLock { $0.token = token ?? 0 }
    }

    func begin(_ log: InvocationLog) {
        drainAvailable()
        state.withLock { $0.log = log }
    }

    func end() { state.withLock { $0.log = nil } }

    /// Reads what is in the pipe now; on end of file, closes it.
    func drainAvailable(hangup: Bool = false) {
        var waiters: [CheckedContinuation<Void, Never>] = []
        // Called twice per invocation: a stack buffer, not a fresh 16 KB array each time.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16384) { buffer in
            state.withLock { state in
                guard state.fd >= 0 else { return }
                while true {
                    let n = read(state.fd, buffer.baseAddress, buffer.count)
                    if n > 0 {
                        let bytes = Array(buffer[0..<n])
                        if let log = state.log { log.append(bytes) } else { idle(bytes) }
                        continue
                    }
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 && errno == EAGAIN && !hangup { return }
                    // End of file (every writer gone) or an error: nothing more will come.
                    SandboxWatcher.shared.unwatch(fd: state.fd, token: state.token)
                    close(state.fd)
                    state.fd = -1
                    waiters = state.closedWaiters
                    state.closedWaiters = []
                    return
                }
            }
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until every writer has gone and everything is read.
    func drainToEnd() async {
        drainAvailable()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.fd < 0 { return true }
                state.closedWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 {
                SandboxWatcher.shared.unwatch(fd: state.fd, token: state.token)
                close(state.fd)
            }
        }
    }
}
