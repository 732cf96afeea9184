/// What a function version runs on: an ordered list of unpacked layers (bottom
/// first) and the image's run configuration. Saved in the store by its own digest.
public struct StoredImage: Codable, Equatable, Sendable {
    public var layers: [Digest]
    public var config: ImageConfig

    public init(layers: [Digest], config: ImageConfig) {
        self.layers = layers
        self.config = config
    }
}

/// The parts of an OCI image config Hearth honours. `user` is kept for display
/// only: every sandbox runs as its own unprivileged uid, whatever the image says.
public struct ImageConfig: Codable, Equatable, Sendable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String]
    public var workingDir: String?
    public var user: String?

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workingDir: String? = nil, user: String? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
    }

    /// ENTRYPOINT followed by CMD, or `arguments` in place of CMD when given (docker run's rule).
    public func command(overriding arguments: [String]) -> [String] {
        (entrypoint ?? []) + (arguments.isEmpty ? (cmd ?? []) : arguments)
    }

    /// ENV as ordered pairs; malformed entries (no '=') are an error naming them.
    public func environment() throws -> [(String, String)] {
        try env.map { pair in
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw PackageError.invalidImage("image ENV entry '\(pair.prefix(80))' is not KEY=VALUE")
            }
            return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
        }
    }
}

/// A layer in the store.
public struct StoredLayer: Codable, Equatable, Sendable {
    public var digest: Digest
    public var bytes: Int64
    public var entries: Int
}
