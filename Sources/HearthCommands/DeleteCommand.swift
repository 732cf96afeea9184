import ArgumentParser

/// `hearth delete`: a function with its versions and aliases, or one version with --qualifier.
public struct DeleteCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a function (or one version).")

    @Argument(help: "Function name.") var name: String
    @Option(help: "Delete only this version.") var qualifier: String?
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        var path = "/2015-03-31/functions/" + APIClient.escape(name)
        if let qualifier { path += "?Qualifier=" + APIClient.escape(qualifier) }
        _ = try client.client().call(.DELETE, path)
        if !client.json { print("deleted \(name)\(qualifier.map { ":" + $0 } ?? "")") } else { printJSON(["Deleted": name]) }
    }
}
