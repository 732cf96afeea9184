import ArgumentParser
import Foundation

/// `hearth url NAME`: the function's URL, made (AuthType NONE unless told) when it has none; settings
/// given to an existing URL update it; --delete removes it.
public struct UrlCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "url", abstract: "Show or create a function's URL; change or delete it.")

    @Argument(help: "Function name.") var name: String
    @Option(help: "An alias: the URL invokes it instead of $LATEST.") var qualifier: String?
    @Option(name: .customLong("auth-type"), help: "NONE (anyone who can reach the URL listener) or AWS_IAM (SigV4 by one of the daemon's keys).")
    var authType: String?
    @Option(name: .customLong("cors-origin"), help: "An origin browsers may call the URL from, or * (repeatable).") var corsOrigins: [String] = []
    @Option(name: .customLong("invoke-mode"), help: "BUFFERED (the answer whole) or RESPONSE_STREAM (sent as the function writes it).")
    var invokeMode: String?
    @Flag(help: "Delete the URL.") var delete = false
    @OptionGroup var client: ClientOptions

    public init() {}

    public func validate() throws {
        if delete && (authType != nil || !corsOrigins.isEmpty || invokeMode != nil) { throw ValidationError("--delete takes no other settings") }
    }

    public func run() throws {
        let api = try client.client()
        if delete {
            _ = try api.call(.DELETE, FunctionUrlSettings.path(name, qualifier))
            return print("deleted the URL of \(name)\(qualifier.map { ":" + $0 } ?? "")")
        }
        let config = try FunctionUrlSettings(authType: authType, corsOrigins: corsOrigins, invokeMode: invokeMode).apply(api, name, qualifier: qualifier)
        if client.json { return printJSON(config) }
        print(config["FunctionUrl"] as? String ?? "")
        print("auth \(config["AuthType"] ?? ""), created \(config["CreationTime"] ?? "")")
    }
}

/// A URL's settings as `hearth url` and `hearth deploy --url` give them.
struct FunctionUrlSettings {
    var authType: String?
    var corsOrigins: [String]
    var invokeMode: String?

    static func path(_ name: String, _ qualifier: String?) -> String {
        "/2021-10-31/functions/\(APIClient.escape(name))/url" + (qualifier.map { "?Qualifier=" + APIClient.escape($0) } ?? "")
    }

    /// The URL's configuration after making it (when there is none) or updating it (when settings were given).
    func apply(_ api: APIClient, _ name: String, qualifier: String?) throws -> [String: Any] {
        let path = Self.path(name, qualifier)
        var body: [String: Any] = [:]
        if let authType { body["AuthType"] = authType }
        if let invokeMode { body["InvokeMode"] = invokeMode }
        if !corsOrigins.isEmpty { body["Cors"] = ["AllowOrigins": corsOrigins, "AllowMethods": ["*"], "AllowHeaders": ["*"]] }
        let existing = try api.request(.GET, path)
        if existing.status == 200 {
            return body.isEmpty ? existing.object : try api.call(.PUT, path, json: body).object
        }
        if body["AuthType"] == nil { body["AuthType"] = "NONE" }
        return try api.call(.POST, path, json: body).object
    }
}
