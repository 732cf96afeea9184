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

/// Every name runs the version it says: Python 3.11 and Node.js 18 are Debian 12's, Python 3.13, Ruby 3.3,
/// Java 21 and Node.js 20 Debian 13's, Python 3.14 and Node.js 24 Debian forky's, Node.js 22 Node's own build
/// (scripts/build-images); a name Hearth has no honest image for is refused.
public enum RuntimeCatalog {
    /// What Lambda's managed runtimes start with besides (their start script's shell leaves PWD and SHLVL).
    static let managedEnvironment = [("PWD", "/var/task"), ("SHLVL", "0")]

    static func python(_ version: String, image: String) -> RuntimeInfo {
        RuntimeInfo(image: image, executionEnvironment: "AWS_Lambda_python\(version)",
                    extraEnvironment: [("PYTHONPATH", "/var/runtime:/opt/python/lib/python\(version)/site-packages:/opt/python")]
                        + managedEnvironment)
    }
    static func node(_ major: Int, image: String) -> RuntimeInfo {
        RuntimeInfo(image: image, executionEnvironment: "AWS_Lambda_nodejs\(major).x",
                    extraEnvironment: [("NODE_PATH", "/opt/nodejs/node\(major)/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")]
                        + managedEnvironment)
    }
    static let python311 = python("3.11", image: "python3"), python313 = python("3.13", image: "python3.13")
    static let python314 = python("3.14", image: "python3.14")
    static let node18 = node(18, image: "nodejs"), node20 = node(20, image: "nodejs20")
    static let node22 = node(22, image: "nodejs22"), node24 = node(24, image: "nodejs24")
    /// Lambda's gem and library paths for Ruby, but its runtime interface client's gem, which Hearth's loop replaces.
    static let ruby33 = RuntimeInfo(image: "ruby3.3", executionEnvironment: "AWS_Lambda_ruby3.3", extraEnvironment: [
        ("GEM_HOME", "/var/runtime"), ("GEM_PATH", "/var/task/vendor/bundle/ruby/3.3.0:/opt/ruby/gems/3.3.0:/var/runtime:/var/runtime/ruby/3.3.0"),
        ("RUBYLIB", "/var/task:/var/runtime/lib:/opt/ruby/lib"),
    ] + managedEnvironment)
    /// Lambda's Java runtime starts the JVM itself: no shell's PWD or SHLVL, no search path variables.
    static let java21 = RuntimeInfo(image: "java21", executionEnvironment: "AWS_Lambda_java21", extraEnvironment: [])
    static let provided = RuntimeInfo(image: "provided", executionEnvironment: nil, extraEnvironment: [])

    /// Lambda identifiers first, then the short names.
    public static let names: [(String, RuntimeInfo)] = [
        ("python3.11", python311), ("python3.13", python313), ("python3.14", python314),
        ("nodejs18.x", node18), ("nodejs20.x", node20), ("nodejs22.x", node22), ("nodejs24.x", node24), ("ruby3.3", ruby33),
        ("java21", java21), ("provided.al2023", provided), ("provided.al2", provided),
        ("python3", python311), ("python", python311), ("nodejs", node18), ("node", node18), ("provided", provided),
    ]

    public static func lookup(_ name: String) throws -> RuntimeInfo {
        if let found = names.first(where: { $0.0 == name }) { return found.1 }
        throw HearthError.invalidArgument("unknown runtime '\(name)'; known runtimes: \(names.map(\.0).joined(separator: ", "))")
    }
}
