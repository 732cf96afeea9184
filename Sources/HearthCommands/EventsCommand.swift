import ArgumentParser
import Foundation

/// `hearth events NAME`: the function's queued events and the failures that could not be delivered
/// anywhere (no destination, or one Hearth could not reach); --redrive sends them back to the function,
/// --delete drops them.
public struct EventsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "events",
                                                           abstract: "Show a function's undelivered async failures; re-drive or delete them.")

    @Argument(help: "Function name.") var name: String
    @Flag(help: "Send the failures back to the function as new events.") var redrive = false
    @Flag(help: "Delete the failures.") var delete = false
    @Option(name: .customLong("id"), help: "Only this failure (repeatable); all when left out.") var ids: [Int] = []
    @OptionGroup var client: ClientOptions

    public init() {}

    public func validate() throws {
        if redrive && delete { throw ValidationError("--redrive and --delete cannot be given together") }
        if !ids.isEmpty && !redrive && !delete { throw ValidationError("--id needs --redrive or --delete") }
    }

    public func run() throws {
        let api = try client.client()
        let path = "/hearth/v1/functions/\(APIClient.escape(name))/events"
        if redrive || delete {
            let body: [String: Any] = ids.isEmpty ? [:] : ["Ids": ids]
            let answer = try api.call(redrive ? .POST : .DELETE, redrive ? path + "/redrive" : path, json: body).object
            if client.json { return printJSON(answer) }
            return print(redrive ? "\(answer["Redriven"] ?? 0) failures sent back to \(name)" : "\(answer["Deleted"] ?? 0) failures deleted")
        }
        let answer = try api.call(.GET, path).object
        if client.json { return printJSON(answer) }
        let failures = answer["Failures"] as? [[String: Any]] ?? []
        print("\(name): \(answer["Queued"] ?? 0) queued, \(failures.count) undelivered failures")
        guard !failures.isEmpty else { return }
        let rows = failures.map { f -> [String] in
            let context = (f["Record"] as? [String: Any])?["requestContext"] as? [String: Any]
            let when = Date(timeIntervalSince1970: f["FailedAt"] as? Double ?? 0)
            return ["\(f["Id"] ?? "")", f["RequestId"] as? String ?? "", context?["condition"] as? String ?? "",
                    "\(context?["approximateInvokeCount"] ?? "")", ISO8601DateFormatter().string(from: when), f["Reason"] as? String ?? ""]
        }
        print(Table.render(["ID", "REQUEST ID", "CONDITION", "ATTEMPTS", "FAILED AT", "WHY KEPT"], rows))
    }
}
