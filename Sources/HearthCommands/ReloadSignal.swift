#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// SIGHUP (systemctl reload): the settings are read again. The idle timeout, the keep-alive policy and
/// the memory budget change at once; a change to any other setting is named and waits for a restart.
final class ReloadSignal: @unchecked Sendable {
    // Set once; a dispatch source may be cancelled from any thread.
    private let source: DispatchSourceSignal

    init(_ reload: @escaping @Sendable () async -> Void) {
        signal(SIGHUP, SIG_IGN)
        let queue = DispatchQueue(label: "hearth-reload")
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        // One reload at a time, in order: a second SIGHUP during a reload is handled after it.
        let serial = ReloadQueue(reload)
        source.setEventHandler { serial.request() }
        source.resume()
    }

    func cancel() { source.cancel() }

    /// One log line: what changed now, and what changed but needs a restart.
    static func describe(from old: ServeCommand.Settings, to new: ServeCommand.Settings) -> String {
        let applied = [
            ("idle_timeout_seconds", "\(old.options.idleTimeoutSeconds)", "\(new.options.idleTimeoutSeconds)"),
            ("keep_alive_policy", "\(old.options.keepAlive)", "\(new.options.keepAlive)"),
            ("memory_budget_mb", "\(old.options.memoryBudgetMB)", "\(new.options.memoryBudgetMB)"),
        ].filter { $0.1 != $0.2 }
        let waiting: [(String, String, String)] = [
            ("listen", old.listen.text, new.listen.text),
            ("url_listen", old.urlListen?.text ?? "off", new.urlListen?.text ?? "off"),
            ("url_domain", old.urlDomain ?? "default", new.urlDomain ?? "default"),
            ("socket", old.socket ?? "none", new.socket ?? "none"),
            ("state_dir", old.stateDirectory, new.stateDirectory),
            ("images_dir", old.imagesDirectory, new.imagesDirectory),
            ("image_dirs", old.imageDirectories.joined(separator: ","), new.imageDirectories.joined(separator: ",")),
            ("account_concurrency", "\(old.options.accountConcurrency)", "\(new.options.accountConcurrency)"),
            ("prepared_per_image", "\(old.options.preparedPerImage)", "\(new.options.preparedPerImage)"),
            ("region", old.options.region, new.options.region),
            ("freeze_idle", "\(old.options.freezeIdle)", "\(new.options.freezeIdle)"),
            ("async_delay_scale", "\(old.options.asyncDelayScale)", "\(new.options.asyncDelayScale)"),
            ("max_connections", "\(old.connections.maxConnections)", "\(new.connections.maxConnections)"),
            ("header_timeout_seconds", "\(old.connections.headerSeconds)", "\(new.connections.headerSeconds)"),
            ("body_timeout_seconds", "\(old.connections.bodyIdleSeconds)", "\(new.connections.bodyIdleSeconds)"),
            ("keepalive_timeout_seconds", "\(old.connections.keepAliveSeconds)", "\(new.connections.keepAliveSeconds)"),
            ("journal", "\(old.journal)", "\(new.journal)"),
            ("auth", old.signedRequests ? "required" : "off", new.signedRequests ? "required" : "off"),
            ("network", old.network.defaultMode?.rawValue ?? "off", new.network.defaultMode?.rawValue ?? "off"),
            ("network_bridge", old.network.bridge, new.network.bridge),
            ("network_subnet", old.network.subnet, new.network.subnet),
            ("network_dns", old.network.dns.joined(separator: ","), new.network.dns.joined(separator: ",")),
        ].filter { $0.1 != $0.2 }
        var parts: [String] = []
        parts.append(applied.isEmpty ? "reloaded: nothing that applies at once changed"
                                     : "reloaded: " + applied.map { "\($0.0) \($0.1) -> \($0.2)" }.joined(separator: ", "))
        if !waiting.isEmpty {
            parts.append("changed but applied only at the next restart: " + waiting.map { "\($0.0) \($0.1) -> \($0.2)" }.joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }
}

/// Runs reloads one after another.
private actor ReloadQueue {
    private let reload: @Sendable () async -> Void
    private var running = false
    private var again = false

    init(_ reload: @escaping @Sendable () async -> Void) { self.reload = reload }

    nonisolated func request() { Task { await self.start() } }

    private func start() async {
        if running { again = true; return }
        running = true
        repeat {
            again = false
            await reload()
        } while again
        running = false
    }
}
