import ArgumentParser
import Foundation

/// `hearth status`: pools, the memory budget, busy and idle sandboxes.
public struct StatusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the daemon's sandboxes and limits.")

    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let status = try client.client().call(.GET, "/hearth/v1/status").object
        if client.json { return printJSON(status) }
        print("functions: \(status["functions"] ?? 0)   busy: \(status["busy"] ?? 0) of \(status["accountConcurrency"] ?? 0)   " +
              "memory: \(status["liveMemoryMB"] ?? 0) MB of \(status["memoryBudgetMB"] ?? 0) MB   prepared: \(status["prepared"] ?? 0)")
        if let queue = status["queue"] as? [String: Any] {
            let queued = queue["queued"] as? [String: Any] ?? [:]
            let total = queued.values.compactMap { $0 as? Int }.reduce(0, +)
            let oldest = (queue["oldestAge"] as? [String: Any] ?? [:]).values.compactMap { $0 as? Double }.max()
            print("events: \(total) queued, \(queue["running"] ?? 0) running" + (oldest.map { String(format: ", oldest %.1f s", $0) } ?? ""))
        }
        let pools = status["pools"] as? [[String: Any]] ?? []
        guard !pools.isEmpty else { return print("no sandboxes") }
        let rows = pools.map { p in
            [p["function"] as? String ?? "", p["version"] as? String ?? "", "\(p["busy"] ?? 0)", "\(p["idle"] ?? 0)",
             "\(p["starting"] ?? 0)", "\(p["provisioned"] ?? 0)", "\(p["memoryMB"] ?? 0)"]
        }
        print(Table.render(["FUNCTION", "VERSION", "BUSY", "IDLE", "STARTING", "PROVISIONED", "MEMORY MB"], rows))
    }
}
