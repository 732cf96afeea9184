#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import HearthAuth
import HearthCgroups
import HearthControlAPI
import HearthDelivery
import HearthEvents
import HearthFunctionURLs
import HearthHTTP
import HearthPackages
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSandbox
import HearthSupervisor
import HearthSystemd
import NIOPosix
import Synchronization

/// `hearth serve`: the supervisor with Lambda's REST API.
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the supervisor: Lambda's API on HTTP and a root-only unix socket.",
        discussion: "Settings come from --config (default /etc/hearth/hearth.yaml when it exists); flags win over the file.")

    @Option(help: "HOST:PORT for the HTTP API (default 127.0.0.1:9000).") var listen: String?
    @Option(name: .customLong("url-listen"), help: "HOST:PORT for function URLs (default 127.0.0.1:9080); 'off' for none.") var urlListen: String?
    @Option(help: "What a function that names no network may reach: internet (default), restricted, none; 'off' for no bridge at all.")
    var network: String?
    @Option(name: .customLong("network-bridge"), help: "The sandboxes' bridge, also the name of its nftables tables (default hearth0).")
    var networkBridge: String?
    @Option(name: .customLong("network-subnet"), help: "The sandboxes' IPv4 subnet; its first address is the gateway (default 10.213.0.0/16).")
    var networkSubnet: String?
    @Option(name: .customLong("network-dns"), help: "DNS servers the sandboxes' relay asks, comma-separated (default: the host's resolv.conf).")
    var networkDNS: String?
    @Option(help: "Unix socket for local clients (default /run/hearth/hearth.sock); 'none' for no socket.") var socket: String?
    @Option(name: .customLong("state-dir"), help: "State: SQLite database, packages, logs (default /var/lib/hearth).") var stateDirectory: String?
    @Option(name: .customLong("images-dir"), help: "Runtime images (default STATE_DIR/images or HEARTH_IMAGES_DIR).") var imagesDirectory: String?
    @Option(help: "Settings file (YAML).") var config: String?
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle sandbox is retired (default 600).") var idleTimeout: Double?
    // Test hooks, not for production: the daemon's clock (keep-alive, the queue, schedules) from another
    // instant and/or faster, so a test crosses a daylight-saving transition without waiting for it.
    @Option(name: .customLong("clock-start"), help: .hidden) var clockStart: String?
    @Option(name: .customLong("clock-rate"), help: .hidden) var clockRate: Double?
    @Option(name: .customLong("keep-alive-policy"),
            help: "fixed (the idle timeout, as Lambda) or hybrid (learns each function's idle times, pre-warms before expected invocations).")
    var keepAlivePolicy: String?
    @Option(name: .customLong("memory-budget"), help: "MB all live sandboxes may use together (default 3/4 of RAM).") var memoryBudget: Int?
    @Option(name: .customLong("account-concurrency"), help: "Concurrent executions across functions (default 1000).") var accountConcurrency: Int?
    @Option(name: .customLong("prepared"), help: "Pre-built empty sandboxes kept per runtime image for cold starts (default 2; 0 = none).")
    var preparedPerImage: Int?
    @Option(name: .customLong("max-connections"), help: "Client connections open at once, per listener (default 1024).")
    var maxConnections: Int?
    @Flag(inversion: .prefixedNo, help: "Freeze a sandbox between invocations, as Lambda does (default on).")
    var freezeIdle: Bool?
    @Option(help: "SigV4 on the HTTP listener: auto (required unless it listens on loopback), required or off. The unix socket never needs it.")
    var auth: String?
    @Option(name: .customLong("image-dir"), help: "A directory an ImageUri may name images in, besides the images directory (repeatable).")
    var imageDirectories: [String] = []

    public init() {}

    public func run() throws {
        // SIGTERM and SIGINT stay blocked in every thread (each inherits this one's mask), so one that comes
        // before the daemon watches for them waits for it instead of being dropped: the kernel throws away
        // an ignored signal unless the main thread blocks it.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGTERM)
        sigaddset(&stopping, SIGINT)
        // SIGHUP (systemctl reload) too: its default action would end the daemon.
        sigaddset(&stopping, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &stopping, nil)
        let settings = try resolve()
        // Opened on first use elsewhere (CLazyLibrary); a daemon without it would fail its first deploy.
        try ArchiveLibrary.check()
        // Each sandbox holds a few fds here (pidfd, output pipe, Runtime API sockets): take the hard limit.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        // A copy of the parsed flags, never changed: a reload resolves them again against the file.
        nonisolated(unsafe) let command = self
        try blockingRun { try await Self.serve(settings, reread: { try command.resolve() }) }
    }

    /// - Parameter reread: the settings as the file and flags give them now (a reload).
    static func serve(_ settings: Settings, reread: @escaping @Sendable () throws -> Settings) async throws {
        let termination = TerminationSignal()
        // A uid block of our own for as long as we run; sandbox ids (and cgroup names) carry it, so the
        // sweep below and any other daemon can tell our sandboxes from a dead daemon's.
        let lease = try UIDBlockLease.acquire()
        SandboxIdentity.owner = .daemon(block: lease.block)
        var settings = settings
        settings.options.sandboxUIDs = lease.uids
        let engine = try HostEngine.make(shareRoots: true, scopePrefix: "hearth-serve",
                                         ephemeralDisks: try HostEngine.ephemeralDisks(in: settings.stateDirectory, mode: settings.ephemeralStorage) { print($0) }) { print($0) }
        let swept = LeftoverSandboxes.sweep(engine.cgroups, ownBlock: lease.block)
        if !swept.removed.isEmpty {
            print("hearth: removed \(swept.removed.count) sandboxes left by a daemon or command that is gone")
        }
        if !swept.failed.isEmpty {
            print("hearth: could not remove the leftover sandbox cgroups \(swept.failed.joined(separator: ", "))")
        }
        // v1 and hybrid joins go through `tasks`, which does not wait; a v2 join goes through cgroup.procs.
        if engine.cgroups.kind == "v2", let layout = try? CgroupLayout.current(), !layout.favorsDynamicModifications {
            print("hearth: cgroup2 is not mounted with favordynmods: a sandbox started without a pre-built one waits 5-20 ms "
                  + "for the kernel when it joins its cgroup (README: Cold starts)")
        }
        // Runs after the supervisor's own shutdown below: no sandbox is started once this runs.
        defer { engine.shutdown() }
        let catalog = try FunctionCatalog(stateDirectory: settings.stateDirectory, imagesDirectory: settings.imagesDirectory,
                                          region: settings.options.region, accountConcurrency: settings.options.accountConcurrency,
                                          imageDirectories: settings.imageDirectories)
        let logs = try FunctionLogs(directory: settings.stateDirectory + "/logs", mirror: settings.journal ? JournalLogMirror() : nil)
        let journal = try InFlightJournal(path: settings.stateDirectory + "/in-flight", slots: settings.options.accountConcurrency)
        journal.recordLeftovers(in: logs)
        if !journal.leftovers.isEmpty {
            print("hearth: \(journal.leftovers.count) invocations were cut off when the daemon stopped; each is recorded as failed in its function's log")
        }
        var thawGuard: ThawGuard?
        if settings.options.freezeIdle {
            do {
                thawGuard = try ThawGuard.start(executable: "/proc/self/exe", engine: engine, block: lease.block)
            } catch {
                print("hearth: idle sandboxes will not be frozen: \(error)")
            }
        }
        let eventStore = try SQLiteEventStore(path: settings.stateDirectory + "/events.db")
        let sqs = try settings.sqs.map { endpoint in
            do { return try SQSSender(endpoint: endpoint) } catch { throw HearthError.invalidArgument("\(error)") }
        }
        let s3 = try settings.s3.map { try S3CodeFetcher(endpoint: $0) }
        let network = try await ServeNetwork.start(settings.network, stateDirectory: settings.stateDirectory, skeleton: engine.runtime.skeleton)
        let bridge = network?.bridge
        let credentials = FunctionCredentials.make()
        let networking = FunctionNetworking(bridge: bridge, defaultNetwork: FunctionNetwork(mode: settings.network.defaultMode ?? .none),
                                            api: ServeNetwork.apiAddress(host: settings.listen.host, port: settings.listen.port),
                                            credentials: credentials.environment)
        let supervisor: Supervisor
        do {
            supervisor = try Supervisor(registry: catalog, engine: engine, logs: logs, options: settings.options, journal: journal,
                                        thawGuard: thawGuard, eventStore: eventStore, destinations: sqs, networking: networking,
                                        clock: settings.clock)
        } catch {
            await bridge?.stop()
            throw error
        }
        do {
            try await supervisor.start()
        } catch {
            await supervisor.shutdown()
            await bridge?.stop()
            throw HearthError.system("cannot resume the event queue: \(error)")
        }
        let signing = settings.signedRequests ? Self.signing(settings, credentials: credentials) : nil
        // The URL listener first: its port goes into every FunctionUrl the API answers.
        var urlServer: FunctionUrlServer?
        var urlAddress: FunctionUrlAddress?
        if let urls = settings.urlListen {
            let keys = AccessKeyFile(stateDirectory: settings.stateDirectory)
            let verifier = SigV4Verifier(region: settings.options.region, servicesByPath: false) {
                credentials.secret(for: $0) { keys.secret(for: $0) }
            }
            let domain = settings.urlDomain ?? FunctionUrlAddress.defaultDomain(region: settings.options.region)
            let handler = FunctionUrlHandler(service: supervisor, address: FunctionUrlAddress(domain: domain, port: urls.port), verifier: verifier)
            do {
                let started = try await FunctionUrlServer.start(handler: handler, host: urls.host, port: urls.port, limits: settings.connections)
                urlServer = started
                urlAddress = FunctionUrlAddress(domain: domain, port: started.port ?? urls.port)
            } catch {
                await supervisor.shutdown()
                await bridge?.stop()
                throw HearthError.system("cannot listen for function URLs on \(urls.text): \(error)")
            }
        }
        let server: ControlServer
        do {
            server = try await ControlServer.start(api: LambdaAPI(service: supervisor, urlAddress: urlAddress, s3: s3), host: settings.listen.host,
                                                   port: settings.listen.port, socketPath: settings.socket, limits: settings.connections,
                                                   verifier: signing?.verifier)
        } catch {
            await urlServer?.close()
            await supervisor.shutdown()
            await bridge?.stop()
            throw HearthError.system("cannot listen on \(settings.listen.text)\(settings.socket.map { " and \($0)" } ?? ""): \(error)")
        }
        let port = server.port ?? settings.listen.port
        networking.setAPIPort(port)
        do {
            try networking.allowAPI()
        } catch {
            await server.close()
            await urlServer?.close()
            await supervisor.shutdown()
            await bridge?.stop()
            throw HearthError.system("cannot open the API to the functions' network: \(error)")
        }
        if let network {
            let dns = network.dns.isEmpty ? "no DNS: the host's resolv.conf names no server" : "DNS relay to \(network.dns.joined(separator: ", "))"
            print("hearth: functions' network on \(settings.network.bridge), gateway \(network.bridge.gateway) (\(dns)), "
                  + "default \(settings.network.defaultMode?.rawValue ?? "none")")
        }
        let serving = "serving Lambda's API on http://\(settings.listen.host):\(port)\(settings.socket.map { " and unix:\($0)" } ?? "")"
        print("hearth: " + serving)
        if let urlServer, let urls = settings.urlListen, let urlAddress {
            print("hearth: serving function URLs on http://\(urls.host):\(urlServer.port ?? urls.port) (http://URL-ID.\(urlAddress.domain):\(urlAddress.port)/ or /\(FunctionUrlAddress.pathPrefix)/URL-ID/)")
        }
        if let signing { print("hearth: " + signing.line) }
        fflush(nil)
        ServiceNotifier.ready(status: serving)
        let watchdog = ServiceNotifier.watchdogInterval().map { interval in
            ServiceWatchdog.start(intervalUsec: interval, group: MultiThreadedEventLoopGroup.singleton) { _ = await supervisor.status() }
        }

        // The settings in force: what a reload applies is updated here, the rest stays as started.
        let inForce = Mutex(settings)
        let reload = ReloadSignal {
            ServiceNotifier.reloading(status: "reloading the settings")
            let line: String
            do {
                let fresh = try reread()
                await supervisor.reload(idleTimeoutSeconds: fresh.options.idleTimeoutSeconds, keepAlive: fresh.options.keepAlive,
                                        memoryBudgetMB: fresh.options.memoryBudgetMB)
                line = inForce.withLock { current in
                    defer {
                        current.options.idleTimeoutSeconds = fresh.options.idleTimeoutSeconds
                        current.options.keepAlive = fresh.options.keepAlive
                        current.options.memoryBudgetMB = fresh.options.memoryBudgetMB
                    }
                    return ReloadSignal.describe(from: current, to: fresh)
                }
            } catch {
                line = "reload refused, the settings in use are unchanged: \(error)"
            }
            print("hearth: " + line)
            fflush(nil)
            ServiceNotifier.ready(status: serving)
        }

        await termination.wait()
        reload.cancel()
        watchdog?.cancel()
        print("hearth: stopping")
        ServiceNotifier.stopping(status: "stopping: closing the API and tearing down every sandbox")
        defer { withExtendedLifetime(lease) {} }
        await server.close()
        await urlServer?.close()
        // Bounded: a teardown that hangs must not keep the daemon from exiting (systemd would SIGKILL it).
        // Sandboxes die with the daemon anyway, and the next start sweeps what is left.
        let stopped = await finishes(within: Self.shutdownSeconds) { await supervisor.shutdown() }
        await bridge?.stop()
        await sqs?.shutdown()
        await s3?.shutdown()
        if let socket = settings.socket { unlink(socket) }
        guard stopped else {
            throw HearthError.system("sandboxes were still being torn down \(Int(Self.shutdownSeconds)) s after SIGTERM; exiting without them")
        }
        engine.cgroups.releaseIfUnused()
    }

    /// SigV4 against the state directory's access keys, in the daemon's region, and the line that says so.
    static func signing(_ settings: Settings, credentials: FunctionCredentials) -> (verifier: SigV4Verifier, line: String) {
        let keys = AccessKeyFile(stateDirectory: settings.stateDirectory)
        let count = (try? keys.read().count) ?? 0
        let line = "HTTP requests must be signed (SigV4) with one of \(count) access keys"
            + (count == 0 ? "; make one with: hearth keys create" : "")
        return (SigV4Verifier(region: settings.options.region) { credentials.secret(for: $0) { keys.secret(for: $0) } }, line)
    }

    /// How long SIGTERM waits for every sandbox's teardown (systemd's default stop timeout is 90 s).
    static let shutdownSeconds = 30.0

    struct Settings: Sendable {
        var listen: ListenAddress
        /// Function URLs' listener; nil when switched off.
        var urlListen: ListenAddress?
        /// Host names of URLs end in this (default lambda-url.REGION.localhost).
        var urlDomain: String?
        var socket: String?
        var stateDirectory: String
        var imagesDirectory: String
        var options: SupervisorOptions
        var connections: ConnectionLimits
        var imageDirectories: [String]
        /// Function logs also go to systemd's journal.
        var journal = false
        /// Every request on the HTTP listener must carry a SigV4 signature by one of the access keys.
        var signedRequests = false
        /// Where SQS destinations and dead-letter queues are sent; nil: they are kept as failures.
        var sqs: SQSEndpoint?
        /// Where code given as S3Bucket and S3Key is read from; nil: such code is refused.
        var s3: S3Endpoint?
        /// /tmp: "auto", "disk" or "memory" (`ServeConfiguration.ephemeralStorage`).
        var ephemeralStorage = "auto"
        var network = ServeNetworkSettings()
        /// The daemon's clock: the system's, or a test's (`--clock-start`, `--clock-rate`).
        var clock: any SchedulerClock = SystemClock()
    }

    /// The key an outside endpoint is signed for with: the settings file's, else the environment's (an
    /// EnvironmentFile= under systemd).
    static func endpointKey(_ service: String, id: String?, secret: String?) throws -> (id: String, secret: String) {
        let env = ProcessInfo.processInfo.environment
        guard let id = id ?? env["AWS_ACCESS_KEY_ID"], let secret = secret ?? env["AWS_SECRET_ACCESS_KEY"] else {
            throw HearthError.invalidArgument("\(service)_endpoint needs \(service)_access_key_id and \(service)_secret_access_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)")
        }
        return (id, secret)
    }

    func resolve() throws -> Settings {
        let file = config ?? (FileManager.default.fileExists(atPath: "/etc/hearth/hearth.yaml") ? "/etc/hearth/hearth.yaml" : nil)
        var fileConfig = ServeConfiguration()
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw HearthError.invalidArgument("cannot read the settings file \(file)") }
            fileConfig = try ServeConfiguration.parse(String(decoding: data, as: UTF8.self), file: file)
        }
        let listen = try ListenAddress.parse(self.listen ?? fileConfig.listen ?? "127.0.0.1:9000")
        let urlText = urlListen ?? fileConfig.urlListen ?? "127.0.0.1:9080"
        let urls = urlText == "off" ? nil : try ListenAddress.parse(urlText)
        var socket: String? = self.socket ?? fileConfig.socket ?? "/run/hearth/hearth.sock"
        if socket == "none" { socket = nil }
        if let s = socket {
            guard s.hasPrefix("/") else { throw HearthError.invalidArgument("--socket must be an absolute path, got '\(s)'") }
            try FileManager.default.createDirectory(atPath: (s as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let state = try SandboxRunCommand.stateDirectory(stateDirectory ?? fileConfig.stateDirectory)
        let images = imagesDirectory ?? fileConfig.imagesDirectory ?? getenv("HEARTH_IMAGES_DIR").map { String(cString: $0) } ?? state + "/images"
        var options = SupervisorOptions(memoryBudgetMB: memoryBudget ?? fileConfig.memoryBudgetMB)
        if let v = idleTimeout ?? fileConfig.idleTimeoutSeconds {
            guard v > 0 else { throw HearthError.invalidArgument("--idle-timeout must be positive, got \(v)") }
            options.idleTimeoutSeconds = v
        }
        if let v = keepAlivePolicy ?? fileConfig.keepAlivePolicy {
            guard let policy = KeepAlivePolicy(name: v) else {
                throw HearthError.invalidArgument("--keep-alive-policy must be fixed or hybrid, got '\(v)'")
            }
            options.keepAlive = policy
        }
        if let v = accountConcurrency ?? fileConfig.accountConcurrency {
            guard v >= 1 else { throw HearthError.invalidArgument("--account-concurrency must be at least 1, got \(v)") }
            options.accountConcurrency = v
        }
        if let v = preparedPerImage ?? fileConfig.preparedPerImage {
            guard (0...64).contains(v) else { throw HearthError.invalidArgument("--prepared must be between 0 and 64, got \(v)") }
            options.preparedPerImage = v
        }
        guard options.memoryBudgetMB >= 128 else { throw HearthError.invalidArgument("--memory-budget must be at least 128 MB, got \(options.memoryBudgetMB)") }
        if let region = fileConfig.region { options.region = region }
        if let v = freezeIdle ?? fileConfig.freezeIdle { options.freezeIdle = v }
        if let v = fileConfig.asyncDelayScale { options.asyncDelayScale = v }
        var connections = ConnectionLimits()
        if let v = maxConnections ?? fileConfig.maxConnections {
            guard (1...65_536).contains(v) else { throw HearthError.invalidArgument("--max-connections must be between 1 and 65536, got \(v)") }
            connections.maxConnections = v
        }
        if let v = fileConfig.headerTimeoutSeconds { connections.headerSeconds = v }
        if let v = fileConfig.bodyTimeoutSeconds { connections.bodyIdleSeconds = v }
        if let v = fileConfig.keepAliveTimeoutSeconds { connections.keepAliveSeconds = v }
        let imageDirectories = imageDirectories.isEmpty ? (fileConfig.imageDirectories ?? []) : imageDirectories
        for dir in imageDirectories where !dir.hasPrefix("/") {
            throw HearthError.invalidArgument("--image-dir must be an absolute path, got '\(dir)'")
        }
        let journal = fileConfig.journal.map { $0 == "auto" ? Journal.isConnected : $0 == "on" } ?? Journal.isConnected
        let authMode = auth ?? fileConfig.auth ?? "auto"
        guard ["auto", "required", "off"].contains(authMode) else {
            throw HearthError.invalidArgument("--auth must be auto, required or off, got '\(authMode)'")
        }
        let signed = authMode == "required" || (authMode == "auto" && !listen.isLoopback)
        var sqs: SQSEndpoint?
        if let url = fileConfig.sqsEndpoint {
            let key = try Self.endpointKey("sqs", id: fileConfig.sqsAccessKeyId, secret: fileConfig.sqsSecretAccessKey)
            sqs = SQSEndpoint(url: url, accessKey: key.id, secretKey: key.secret)
        }
        var s3: S3Endpoint?
        if let url = fileConfig.s3Endpoint {
            let key = try Self.endpointKey("s3", id: fileConfig.s3AccessKeyId, secret: fileConfig.s3SecretAccessKey)
            s3 = S3Endpoint(url: url, accessKey: key.id, secretKey: key.secret, region: options.region)
        }
        let network = try ServeNetworkSettings.make(mode: self.network ?? fileConfig.network ?? "internet",
                                                    bridge: networkBridge ?? fileConfig.networkBridge,
                                                    subnet: networkSubnet ?? fileConfig.networkSubnet, dns: networkDNS ?? fileConfig.networkDNS)
        var clock: any SchedulerClock = SystemClock()
        if clockStart != nil || clockRate != nil {
            var start: Date?
            if let text = clockStart {
                guard let date = ISO8601DateFormatter().date(from: text) else {
                    throw HearthError.invalidArgument("--clock-start must be an ISO 8601 time like 2027-03-28T00:10:00Z, got '\(text)'")
                }
                start = date
            }
            let rate = clockRate ?? 1
            guard rate.isFinite, rate > 0, rate <= 10_000 else { throw HearthError.invalidArgument("--clock-rate must be above 0 and at most 10000, got \(rate)") }
            clock = ScaledClock(factor: rate, startingAt: start)
        }
        return Settings(listen: listen, urlListen: urls, urlDomain: fileConfig.urlDomain, socket: socket, stateDirectory: state, imagesDirectory: images, options: options,
                        connections: connections, imageDirectories: imageDirectories, journal: journal, signedRequests: signed, sqs: sqs,
                        s3: s3, ephemeralStorage: fileConfig.ephemeralStorage ?? "auto", network: network, clock: clock)
    }

    /// SIGTERM and SIGINT, watched from the moment it is made (the start of `serve`; `run` has blocked them
    /// in every thread before): one that comes while the daemon is still starting is kept, and `wait`
    /// returns at once. Armed only when the daemon was ready, a SIGTERM during its start was ignored, and
    /// the daemon never stopped.
    final class TerminationSignal: @unchecked Sendable {
        private let sources: [DispatchSourceSignal]
        private let received = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        init() {
            // As libdispatch asks: the default action (ending the process) off, then the sources watch.
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            let queue = DispatchQueue(label: "hearth-signals")
            sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            for source in sources {
                source.setEventHandler { [weak self] in self?.fire() }
                source.resume()
            }
        }

        private func fire() {
            let waiter = received.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func wait() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = received.withLock { state -> Bool in
                    if state.done { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            for source in sources { source.cancel() }
        }
    }
}
