import ArgumentParser
import Foundation

/// `hearth list`: every function, following ListFunctions' pages.
public struct ListCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "list", abstract: "List the daemon's functions.")

    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        var functions: [[String: Any]] = []
        var marker: String?
        repeat {
            let path = "/2015-03-31/functions?MaxItems=50" + (marker.map { "&Marker=" + APIClient.escape($0) } ?? "")
            let page = try api.call(.GET, path).object
            functions += page["Functions"] as? [[String: Any]] ?? []
            marker = page["NextMarker"] as? String
        } while marker != nil
        if client.json { return printJSON(functions) }
        let rows = functions.map { f in
            [f["FunctionName"] as? String ?? "", f["Runtime"] as? String ?? (f["PackageType"] as? String ?? ""), "\(f["MemorySize"] ?? "")",
             "\(f["Timeout"] ?? "")", f["LastModified"] as? String ?? ""]
        }
        print(Table.render(["NAME", "RUNTIME", "MEMORY", "TIMEOUT", "LAST MODIFIED"], rows))
    }
}
