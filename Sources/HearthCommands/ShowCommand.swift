import ArgumentParser
import Foundation

/// `hearth show`: a function's configuration, concurrency, versions and aliases.
public struct ShowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one function.")

    @Argument(help: "Function name.") var name: String
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        let base = "/2015-03-31/functions/" + APIClient.escape(name)
        let function = try api.call(.GET, base).object
        let versions = try api.call(.GET, base + "/versions").object["Versions"] as? [[String: Any]] ?? []
        let aliases = try api.call(.GET, base + "/aliases").object["Aliases"] as? [[String: Any]] ?? []
        if client.json {
            var out = function
            out["Versions"] = versions
            out["Aliases"] = aliases
            return printJSON(out)
        }
        let c = function["Configuration"] as? [String: Any] ?? [:]
        var rows: [[String]] = [
            ["name", c["FunctionName"] as? String ?? ""], ["arn", c["FunctionArn"] as? String ?? ""],
            ["package", c["PackageType"] as? String ?? ""], ["runtime", c["Runtime"] as? String ?? "-"], ["handler", c["Handler"] as? String ?? "-"],
            ["memory", "\(c["MemorySize"] ?? "") MB"], ["timeout", "\(c["Timeout"] ?? "") s"],
            ["ephemeral storage", "\((c["EphemeralStorage"] as? [String: Any])?["Size"] ?? "") MB"],
            ["code", "\(c["CodeSha256"] ?? "") (\(c["CodeSize"] ?? "") bytes)"], ["last modified", c["LastModified"] as? String ?? ""],
        ]
        if let reserved = (function["Concurrency"] as? [String: Any])?["ReservedConcurrentExecutions"] { rows.append(["reserved concurrency", "\(reserved)"]) }
        for (k, v) in ((c["Environment"] as? [String: Any])?["Variables"] as? [String: String] ?? [:]).sorted(by: { $0.key < $1.key }) {
            rows.append(["env", "\(k)=\(v)"])
        }
        for layer in c["Layers"] as? [[String: Any]] ?? [] { rows.append(["layer", layer["Arn"] as? String ?? ""]) }
        rows.append(["versions", versions.compactMap { $0["Version"] as? String }.joined(separator: ", ")])
        for alias in aliases { rows.append(["alias", "\(alias["Name"] ?? "") -> \(alias["FunctionVersion"] ?? "")"]) }
        print(Table.render(["FIELD", "VALUE"], rows))
    }
}
