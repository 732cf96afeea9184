import HearthSandbox

/// Order statistics of a sample, in milliseconds.
struct Sample {
    var values: [Double]

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }

    var median: Double { percentile(50) }
    var p90: Double { percentile(90) }
}

func formatMs(_ v: Double) -> String {
    v.isNaN ? "-" : String(format: "%.2f", v)
}

/// Runs a benchmark and says whether it left mounts, cgroups or network namespaces behind.
func reportingLeaks(_ body: () throws -> Void) throws {
    let before = HostResources.take()
    try body()
    let after = HostResources.take()
    let leaked = after.mounts != before.mounts || after.cgroups != before.cgroups || after.networkNamespaces != before.networkNamespaces
        || after.loopDevices > before.loopDevices
    print("")
    print(leaked ? "# LEAK: before \(before); after \(after)" : "# leak check: \(after) (mounts, cgroups, network namespaces, loop devices as before)")
}
