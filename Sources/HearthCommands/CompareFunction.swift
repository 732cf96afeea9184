import Foundation
import HearthCompare
import HearthModel
import HearthPackages
import HearthRegistry

/// The function `hearth compare` replays: one deployed on the daemon (its configuration and code
/// fetched through the API), a zip given on the command line, or a built-in one that runs each
/// request for the duration the trace gives it.
enum CompareFunction {
    enum Source {
        case deployed(String)
        case zip(path: String, runtime: String, handler: String)
        /// `sleep` or `busy`: waits or spins for the arrival's duration.
        case builtin(String)
    }

    /// What the private registry is given.
    struct Definition {
        var name: String
        var code: FunctionCode
        var settings: FunctionSettings
        var packageType: String
        /// Requests carry each arrival's duration (the built-in functions).
        var usesDurations: Bool
    }

    /// The private registry asks for a role, as Lambda does; nothing checks it.
    static let placeholderRole = "arn:aws:iam::000000000000:role/hearth-compare"

    static let builtinHandler = """
        import time

        def handler(event, context):
            ms = float(event.get("ms", 0)) if isinstance(event, dict) else 0.0
            end = time.monotonic() + ms / 1000
            if event.get("mode") == "busy":
                while time.monotonic() < end:
                    pass
            else:
                time.sleep(ms / 1000)
            return {"ms": ms}

        """

    /// Builds the definition; the code goes into a file in `codeDirectory` (the private registry's).
    static func define(_ source: Source, memoryMB: Int?, codeDirectory: String, client: () throws -> APIClient) throws -> Definition {
        var settings = FunctionSettings()
        settings.memorySize = memoryMB
        settings.role = placeholderRole
        switch source {
        case .builtin(let mode):
            let path = codeDirectory + "/builtin-\(getpid()).zip"
            defer { unlink(path) }
            try ZipWriter.write([.init(path: "handler.py", contents: Array(builtinHandler.utf8))], to: path)
            settings.runtime = "python3.11"
            settings.handler = "handler.handler"
            settings.timeout = 900
            settings.memorySize = memoryMB ?? 128
            return Definition(name: "builtin-\(mode)", code: .zip(try file(path, codeDirectory)), settings: settings, packageType: "Zip",
                              usesDurations: true)
        case .zip(let path, let runtime, let handler):
            settings.runtime = runtime
            settings.handler = handler
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return Definition(name: sanitized(name), code: .zip(try file(path, codeDirectory)), settings: settings, packageType: "Zip",
                              usesDurations: false)
        case .deployed(let name):
            return try fetch(name, memoryMB: memoryMB, codeDirectory: codeDirectory, api: client())
        }
    }

    /// GetFunction, then its code from Code.Location; layers are not fetched (refused instead).
    static func fetch(_ name: String, memoryMB: Int?, codeDirectory: String, api: APIClient) throws -> Definition {
        let function = try api.call(.GET, "/2015-03-31/functions/" + APIClient.escape(name)).object
        guard let config = function["Configuration"] as? [String: Any] else {
            throw HearthError.system("the daemon's answer for \(name) has no Configuration")
        }
        if let layers = config["Layers"] as? [Any], !layers.isEmpty {
            throw HearthError.invalidArgument("\(name) uses layers, which hearth compare does not fetch yet; compare its code as a --zip instead")
        }
        var settings = FunctionSettings()
        settings.role = config["Role"] as? String ?? placeholderRole
        settings.memorySize = memoryMB ?? config["MemorySize"] as? Int
        settings.timeout = config["Timeout"] as? Int
        settings.environment = (config["Environment"] as? [String: Any])?["Variables"] as? [String: String]
        settings.ephemeralStorage = (config["EphemeralStorage"] as? [String: Any])?["Size"] as? Int
        let code = function["Code"] as? [String: Any] ?? [:]
        if (config["PackageType"] as? String) == "Image" {
            guard let uri = code["ImageUri"] as? String else { throw HearthError.system("the daemon's answer for \(name) has no ImageUri") }
            return Definition(name: name, code: .image(uri: uri), settings: settings, packageType: "Image", usesDurations: false)
        }
        settings.runtime = config["Runtime"] as? String
        settings.handler = config["Handler"] as? String
        let zip = try api.downloadCode(function, name: name)
        let file = try UnnamedFile(directory: codeDirectory)
        try file.write(zip)
        return Definition(name: name, code: .zip(file), settings: settings, packageType: "Zip", usesDurations: false)
    }

    /// A zip from disk, copied into a file with no name in the registry's code directory.
    static func file(_ path: String, _ codeDirectory: String) throws -> UnnamedFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw HearthError.invalidArgument("cannot read the zip \(path)") }
        let file = try UnnamedFile(directory: codeDirectory)
        try file.write(Array(data))
        return file
    }

    /// A function name from a file name: Lambda's letters, digits, '-' and '_'.
    static func sanitized(_ text: String) -> String {
        let name = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" }.prefix(64))
        return name.isEmpty ? "function" : name
    }
}
