/// The limits one sandbox runs under. Lambda's own knobs (memory, timeout,
/// ephemeral storage) plus the pids cap that keeps a fork bomb inside.
public struct ResourceLimits: Sendable, Equatable {
    /// Memory in MB (MiB, as Lambda counts); also sets the CPU share.
    public var memoryMB: Int
    /// Wall-clock limit in seconds; nil means none.
    public var timeoutSeconds: Double?
    /// Maximum number of tasks (processes and threads).
    public var pids: Int
    /// Size of the writable /tmp in MB.
    public var tmpSizeMB: Int

    public static let memoryRange = 16...262_144
    public static let pidsRange = 1...4_194_304
    public static let tmpSizeRange = 1...10_240
    public static let timeoutRange = 0.001...86_400.0

    /// Lambda: 1,769 MB of memory buys one full vCPU.
    public static let megabytesPerVCPU = 1769

    public init(memoryMB: Int = 512, timeoutSeconds: Double? = nil, pids: Int = 1024, tmpSizeMB: Int = 512) {
        self.memoryMB = memoryMB
        self.timeoutSeconds = timeoutSeconds
        self.pids = pids
        self.tmpSizeMB = tmpSizeMB
    }

    public var memoryBytes: Int64 { Int64(memoryMB) * 1024 * 1024 }

    /// The fraction of one CPU this sandbox may use, as Lambda scales it.
    public var vcpus: Double { Double(memoryMB) / Double(Self.megabytesPerVCPU) }

    /// Throws a `HearthError.invalidLimit` naming the first value out of range.
    public func validate() throws {
        try Self.check("memory", memoryMB, in: Self.memoryRange, unit: "MB")
        try Self.check("pids", pids, in: Self.pidsRange, unit: "")
        try Self.check("tmp size", tmpSizeMB, in: Self.tmpSizeRange, unit: "MB")
        if let timeout = timeoutSeconds, !(Self.timeoutRange.contains(timeout)) || !timeout.isFinite {
            throw HearthError.invalidLimit(
                "timeout must be between \(Self.timeoutRange.lowerBound) and \(Int(Self.timeoutRange.upperBound)) seconds, got \(timeout)")
        }
    }

    private static func check(_ name: String, _ value: Int, in range: ClosedRange<Int>, unit: String) throws {
        guard range.contains(value) else {
            let suffix = unit.isEmpty ? "" : " \(unit)"
            throw HearthError.invalidLimit(
                "\(name) must be between \(range.lowerBound) and \(range.upperBound)\(suffix), got \(value)")
        }
    }
}
