import ArgumentParser
import Foundation
import HearthPackages
import HearthModel
import HearthRegistry

/// `hearth deploy`: creates a function, or updates its code and configuration when it exists.
public struct DeployCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deploy", abstract: "Create or update a function on the daemon.")

    @Argument(help: "Function name.") var name: String
    @Option(help: "Lambda zip package.") var zip: String?
    @Option(help: "Container image: an OCI archive or docker save tarball here (uploaded), or NAME[:TAG] or a path under the daemon's image directories.")
    var image: String?
    @Option(help: "Runtime for a zip (e.g. python3.11, nodejs20.x, provided.al2023).") var runtime: String?
    @Option(help: "Handler, e.g. app.handler.") var handler: String?
    @Option(help: "Memory in MB (128-10240).") var memory: Int?
    @Option(help: "Timeout in seconds (1-900).") var timeout: Int?
    @Option(name: .customLong("env"), help: "Environment variable KEY=VALUE (repeatable).") var environment: [String] = []
    @Option(name: .customLong("layer"), help: "A layer version ARN, or a zip to publish as a layer (repeatable).") var layers: [String] = []
    @Option(name: .customLong("reserved-concurrency"), help: "Reserved concurrency (0 throttles every invocation).") var reserved: Int?
    @Option(help: "What it may reach: internet, restricted (its --allow list only), none (loopback only), or default (the daemon's). Sent as VpcConfig's subnet.")
    var network: String?
    @Option(name: .customLong("allow"), help: "Besides the internet: a host service NAME=IPV4:PORT or an IPv4 CIDR (repeatable). Sent as VpcConfig's security groups.")
    var allowances: [String] = []
    @Option(help: "Keep N sandboxes initialised: publishes a version and puts provisioned concurrency on it.") var provisioned: Int?
    @Flag(help: "Give the function a URL (AuthType NONE) and print it; an existing URL is kept.") var url = false
    @OptionGroup var client: ClientOptions

    public init() {}

    /// A tarball on this machine is uploaded under the function's name; anything else names an image
    /// the daemon finds in its image directories.
    private func imageURI(_ image: String, api: APIClient) throws -> String {
        var isDirectory: ObjCBool = false
        let (path, _) = ImageRoots.split(image)
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return image }
        // A layout directory is read by the daemon, so it must be under one of its image directories.
        if isDirectory.boolValue { return image.hasPrefix("/") ? image : FileManager.default.currentDirectoryPath + "/" + image }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the image \(path)") }
        let uploaded = try api.call(.PUT, "/hearth/v1/images/" + APIClient.escape(name), body: Array(data)).object
        return uploaded["ImageUri"] as? String ?? name
    }

    /// What can be checked here is checked before anything is sent: the values with the daemon's own
    /// rules and words, the zip's central directory, the network choice.
    func checkLocally() throws {
        var settings = FunctionSettings()
        settings.runtime = runtime
        settings.handler = handler
        settings.memorySize = memory
        settings.timeout = timeout
        do { try settings.validate() } catch { throw ValidationError("\(error.message)") }
        if let reserved, reserved < 0 { throw ValidationError("--reserved-concurrency must be 0 or more, got \(reserved)") }
        if let provisioned, provisioned < 1 { throw ValidationError("--provisioned must be 1 or more, got \(provisioned)") }
        if let zip {
            do { try ZipImporter.check(at: zip) } catch { throw ValidationError("\(error)") }
        }
    }

    public func run() throws {
        let api = try client.client()
        guard (zip == nil) != (image == nil) else { throw ValidationError("give exactly one of --zip FILE or --image PATH") }
        try checkLocally()
        var body: [String: Any] = ["FunctionName": name, "Role": "arn:aws:iam::000000000000:role/hearth"]
        var code: [String: Any] = [:]
        if let zip {
            guard let data = FileManager.default.contents(atPath: zip) else { throw ValidationError("cannot read the zip \(zip)") }
            code["ZipFile"] = data.base64EncodedString()
        }
        if let image {
            code["ImageUri"] = try imageURI(image, api: api)
            body["PackageType"] = "Image"
        }
        if let runtime { body["Runtime"] = runtime }
        if let handler { body["Handler"] = handler }
        if let memory { body["MemorySize"] = memory }
        if let timeout { body["Timeout"] = timeout }
        if !environment.isEmpty {
            var variables: [String: String] = [:]
            for pair in environment {
                guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw ValidationError("--env expects KEY=VALUE, got '\(pair)'") }
                variables[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            body["Environment"] = ["Variables": variables]
        }
        if network != nil || !allowances.isEmpty {
            let mode = network ?? "internet"
            if mode == "default" {
                guard allowances.isEmpty else { throw ValidationError("--allow needs --network internet or restricted, not default") }
                body["VpcConfig"] = ["SubnetIds": [String](), "SecurityGroupIds": [String]()]
            } else {
                // Checked here too, so a typo is named before anything is uploaded.
                do { _ = try FunctionNetwork.parse(mode: mode, allowances: allowances) } catch { throw ValidationError("\(error)") }
                body["VpcConfig"] = ["SubnetIds": [mode], "SecurityGroupIds": allowances]
            }
        }
        if !layers.isEmpty { body["Layers"] = try layers.enumerated().map { try layerARN($0.element, index: $0.offset, api: api) } }

        let path = "/2015-03-31/functions/" + APIClient.escape(name)
        let before = try api.request(.GET, path)
        let exists = before.status == 200
        // Each step that changed the function pushes how to undo it: a later failure undoes them all,
        // newest first, and the function is as it was (Lambda's API has no transaction across calls).
        var undo: [(String, () throws -> Void)] = []
        func undoAll(after error: Error) -> Error {
            var failed: [String] = []
            for (what, step) in undo.reversed() {
                do { try step() } catch { failed.append("\(what): \(error)") }
            }
            let note = failed.isEmpty ? (undo.isEmpty ? "nothing was changed" : "the function is as it was")
                                      : "and could not undo " + failed.joined(separator: "; ")
            return HearthError.invalidArgument("deploy failed: \(error); \(note)")
        }
        var config: [String: Any] = [:]
        var version: String?
        var urlConfig: [String: Any]?
        do {
            if exists {
                let previous = before.object
                let previousConfig = previous["Configuration"] as? [String: Any] ?? [:]
                var settings = body
                settings["FunctionName"] = nil
                settings["PackageType"] = nil
                // The configuration first: the daemon checks it (layers, network) before it changes anything.
                if settings.count > 1 {
                    config = try api.call(.PUT, path + "/configuration", json: settings).object
                    let restore = Self.restorable(previousConfig, keys: Set(settings.keys))
                    undo.append(("the configuration", { _ = try api.call(.PUT, path + "/configuration", json: restore) }))
                }
                // Fetched before it is replaced, to put back if a later step fails.
                let previousCode = try Self.restorableCode(previous, api: api)
                config = try api.call(.PUT, path + "/code", json: code).object
                undo.append(("the code", { _ = try api.call(.PUT, path + "/code", json: previousCode) }))
            } else {
                body["Code"] = code
                config = try api.call(.POST, "/2015-03-31/functions", json: body).object
                undo.append(("the new function", { _ = try api.call(.DELETE, path) }))
            }
            if let reserved {
                let concurrency = "/2017-10-31/functions/\(APIClient.escape(name))/concurrency"
                let old = exists ? (before.object["Concurrency"] as? [String: Any])?["ReservedConcurrentExecutions"] as? Int : nil
                _ = try api.call(.PUT, concurrency, json: ["ReservedConcurrentExecutions": reserved])
                if exists {
                    undo.append(("the reserved concurrency", {
                        if let old { _ = try api.call(.PUT, concurrency, json: ["ReservedConcurrentExecutions": old]) } else { _ = try api.call(.DELETE, concurrency) }
                    }))
                }
            }
            if let provisioned {
                version = try api.call(.POST, path + "/versions", json: [String: Any]()).object["Version"] as? String
                _ = try api.call(.PUT, "/2019-09-30/functions/\(APIClient.escape(name))/provisioned-concurrency?Qualifier=\(version ?? "")",
                                 json: ["ProvisionedConcurrentExecutions": provisioned])
            }
            urlConfig = url ? try FunctionUrlSettings(authType: nil, corsOrigins: [], invokeMode: nil).apply(api, name, qualifier: nil) : nil
        } catch {
            throw undoAll(after: error)
        }
        if client.json {
            var out = config
            if let version { out["ProvisionedVersion"] = version }
            if let urlConfig { out["FunctionUrl"] = urlConfig["FunctionUrl"] }
            printJSON(out)
        } else {
            print("\(exists ? "updated" : "created") \(name): \(config["Runtime"] as? String ?? config["PackageType"] as? String ?? ""), " +
                  "\(config["MemorySize"] ?? "") MB, \(config["Timeout"] ?? "") s, code \(config["CodeSha256"] ?? "")")
            if let version, let provisioned { print("provisioned concurrency \(provisioned) on version \(version)") }
            if let urlConfig { print("url \(urlConfig["FunctionUrl"] as? String ?? "")") }
        }
    }

    /// A layer ARN as is; a zip is published as layer NAME-layerN first.
    /// The previous values of the configuration fields a deploy changed, as UpdateFunctionConfiguration takes them.
    static func restorable(_ config: [String: Any], keys: Set<String>) -> [String: Any] {
        var out: [String: Any] = [:]
        for key in keys {
            switch key {
            case "Environment": out[key] = ["Variables": (config["Environment"] as? [String: Any])?["Variables"] as? [String: String] ?? [:]]
            case "Layers": out[key] = (config["Layers"] as? [[String: Any]] ?? []).compactMap { $0["Arn"] as? String }
            case "VpcConfig":
                let vpc = config["VpcConfig"] as? [String: Any] ?? [:]
                out[key] = ["SubnetIds": vpc["SubnetIds"] as? [String] ?? [], "SecurityGroupIds": vpc["SecurityGroupIds"] as? [String] ?? []]
            default: if let value = config[key] { out[key] = value }
            }
        }
        return out
    }

    /// The function's current code as UpdateFunctionCode takes it: its image, or its zip fetched from Code.Location.
    static func restorableCode(_ function: [String: Any], api: APIClient) throws -> [String: Any] {
        let code = function["Code"] as? [String: Any] ?? [:]
        if let uri = code["ImageUri"] as? String { return ["ImageUri": uri] }
        return ["ZipFile": Data(try api.downloadCode(function, name: "the function")).base64EncodedString()]
    }

    func layerARN(_ value: String, index: Int, api: APIClient) throws -> String {
        if value.hasPrefix("arn:") { return value }
        guard let data = FileManager.default.contents(atPath: value) else { throw ValidationError("--layer: '\(value)' is neither a layer ARN nor a readable zip") }
        let layer = "\(name)-layer\(index + 1)"
        let response = try api.call(.POST, "/2018-10-31/layers/\(layer)/versions", json: ["Content": ["ZipFile": data.base64EncodedString()]])
        guard let arn = response.object["LayerVersionArn"] as? String else { throw HearthError.system("the daemon returned no layer ARN") }
        return arn
    }
}
