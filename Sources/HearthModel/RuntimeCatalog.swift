/// Runtime names as Lambda spells them, and short ones, mapped to Hearth's runtime images.
public struct RuntimeInfo: Sendable, Equatable {
    /// The image under the runtime images directory (scripts/build-images).
    public var image: String
    /// AWS_EXECUTION_ENV; none for custom runtimes, as on Lambda.
    public var executionEnvironment: String?
    /// Runtime-specific search paths, as Lambda's managed runtimes set them.
    public var extraEnvironment: [(String, String)]

    public static func == (a: RuntimeInfo, b: RuntimeInfo) -> Bool { a.image == b.image && a.executionEnvironment == b.executionEnvironment }
}

public enum RuntimeCatalog {
    static let python = RuntimeInfo(image: "python3", executionEnvironment: "AWS_Lambda_python3.11",
                                    extraEnvironment: [("PYTHONPATH", "/var/runtime:/opt/python/lib/python3.11/site-packages:/opt/python")])
    static let node = RuntimeInfo(image: "nodejs", executionEnvironment: "AWS_Lambda_nodejs",
                                  extraEnvironment: [("NODE_PATH", "/opt/nodejs/node_modules:/opt/nodejs/node20/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")])
    static let provided = RuntimeInfo(image: "provided", executionEnvironment: nil, extraEnvironment: [])

    /// Lambda identifiers first, then the short names.
    public static let names: [(String, RuntimeInfo)] = [
        ("python3.11", python), ("nodejs20.x", node), ("nodejs18.x", node), ("provided.al2023", provided), ("provided.al2", provided),
        ("python3", python), ("python", python), ("nodejs", node), ("node", node), ("provided", provided),
    ]

    public static func lookup(_ name: String) throws -> RuntimeInfo {
        if let found = names.first(where: { $0.0 == name }) { return found.1 }
        throw HearthError.invalidArgument("unknown runtime '\(name)'; known runtimes: \(names.map(\.0).joined(separator: ", "))")
    }
}
