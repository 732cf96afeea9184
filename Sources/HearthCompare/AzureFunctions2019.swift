import Foundation

/// The Azure Functions 2019 public trace (Shahrad et al., ATC'20): per function, its invocations in
/// each minute of a day (`invocations_per_function_md.anon.dNN.csv`), with its execution time
/// percentiles (`function_durations_percentiles.anon.dNN.csv`) and its application's memory
/// (`app_memory_percentiles.anon.dNN.csv`) beside it when those files are there.
///
/// A minute's invocations are spread evenly over the minute; each gets a duration sampled from the
/// function's percentiles (piecewise linear between them), repeatably for a seed.
enum AzureFunctions2019 {
    static let minutes = 1440
    static let durationColumns = ["HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum",
                                  "percentile_Average_0", "percentile_Average_1", "percentile_Average_25", "percentile_Average_50",
                                  "percentile_Average_75", "percentile_Average_99", "percentile_Average_100"]

    static func read(invocations text: String, path: String, select: String?, seed: UInt64) throws(TraceError) -> Trace {
        let file = (path as NSString).lastPathComponent
        let lines = numberedLines(text)
        guard let header = lines.first else { throw TraceError("\(file): empty") }
        let names = header.text.split(separator: ",", omittingEmptySubsequences: false)
        guard names.count == 4 + minutes, names[4...].enumerated().allSatisfy({ $0.element == Substring(String($0.offset + 1)) }) else {
            throw TraceError.at(file, header.number, "expected the header HashOwner,HashApp,HashFunction,Trigger,1,...,\(minutes)")
        }
        guard let row = lines.dropFirst().first(where: { line in
            guard let select else { return true }
            let fields = line.text.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            return fields.count > 2 && fields[2].hasPrefix(select)
        }) else {
            throw TraceError("\(file): " + (select.map { "no function whose HashFunction starts with '\($0)'" } ?? "no function rows"))
        }
        let fields = row.text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 4 + minutes else {
            throw TraceError.at(file, row.number, "expected \(4 + minutes) fields (owner, app, function, trigger and \(minutes) per-minute counts), got \(fields.count)")
        }
        var counts: [Int] = []
        counts.reserveCapacity(minutes)
        var total = 0
        for (index, field) in fields[4...].enumerated() {
            guard let count = Int(field), count >= 0, count <= Trace.maximumArrivals else {
                throw TraceError.at(file, row.number, "minute \(index + 1): '\(field)' is not a count of invocations")
            }
            total += count
            guard total <= Trace.maximumArrivals else {
                throw TraceError.at(file, row.number, "more than \(Trace.maximumArrivals) invocations: too many to replay")
            }
            counts.append(count)
        }
        let (owner, app, function) = (String(fields[0]), String(fields[1]), String(fields[2]))
        let durations = try siblingDurations(path, owner: owner, app: app, function: function)
        let memory = try siblingMemory(path, owner: owner, app: app)
        var random = SplitMix64(seed: seed)
        var arrivals: [Arrival] = []
        arrivals.reserveCapacity(total)
        for (minute, count) in counts.enumerated() where count > 0 {
            let gap = 60 / Double(count)
            for i in 0..<count {
                arrivals.append(Arrival(offset: Double(minute) * 60 + (Double(i) + 0.5) * gap,
                                        durationMs: durations.map { $0.sample(random.nextUnit()) }))
            }
        }
        let day = file.split(separator: ".").first { $0.hasPrefix("d") && $0.count == 3 }.map { " " + $0 } ?? ""
        return Trace(name: "azure2019\(day) function \(function.prefix(12))", arrivals: arrivals, span: Double(minutes) * 60,
                     memoryMB: memory)
    }

    /// The execution times of `function` from the durations file beside `path`, if there is one.
    static func siblingDurations(_ path: String, owner: String, app: String, function: String) throws(TraceError) -> Percentiles? {
        guard let sibling = sibling(of: path, named: "function_durations_percentiles.anon.") else { return nil }
        let file = (sibling as NSString).lastPathComponent
        let lines = numberedLines(try contents(sibling))
        guard let header = lines.first, header.text.split(separator: ",").map(String.init) == durationColumns else {
            throw TraceError.at(file, 1, "expected the header " + durationColumns.joined(separator: ","))
        }
        for line in lines.dropFirst() {
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == durationColumns.count else {
                throw TraceError.at(file, line.number, "expected \(durationColumns.count) fields, got \(fields.count)")
            }
            guard fields[0] == owner && fields[1] == app && fields[2] == function else { continue }
            var points: [Double] = []
            for field in fields[7...] {
                guard let ms = finite(field), ms >= 0 else { throw TraceError.at(file, line.number, "'\(field)' is not a duration in ms") }
                points.append(ms)
            }
            guard zip(points, points.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw TraceError.at(file, line.number, "the percentiles are not in increasing order")
            }
            return Percentiles(at: [0, 0.01, 0.25, 0.5, 0.75, 0.99, 1], values: points)
        }
        return nil
    }

    /// The average memory allocated to `app` from the memory file beside `path`, if there is one.
    static func siblingMemory(_ path: String, owner: String, app: String) throws(TraceError) -> Int? {
        guard let sibling = sibling(of: path, named: "app_memory_percentiles.anon.") else { return nil }
        let file = (sibling as NSString).lastPathComponent
        let lines = numberedLines(try contents(sibling))
        guard let header = lines.first, header.text.hasPrefix("HashOwner,HashApp,SampleCount,AverageAllocatedMb") else {
            throw TraceError.at(file, 1, "expected the header HashOwner,HashApp,SampleCount,AverageAllocatedMb,...")
        }
        for line in lines.dropFirst() {
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 4, fields[0] == owner, fields[1] == app else { continue }
            guard let mb = finite(fields[3]), mb > 0, mb < 1_000_000 else {
                throw TraceError.at(file, line.number, "'\(fields[3])' is not an amount of memory in MB")
            }
            return Int(mb.rounded(.up))
        }
        return nil
    }

    /// `invocations_per_function_md.anon.d01.csv` → `<prefix>d01.csv` in the same directory, if it exists.
    static func sibling(of path: String, named prefix: String) -> String? {
        let name = (path as NSString).lastPathComponent
        guard let range = name.range(of: "invocations_per_function_md.anon.") else { return nil }
        let candidate = ((path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent(prefix + name[range.upperBound...])
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    static func contents(_ path: String) throws(TraceError) -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TraceError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

/// A distribution known by some of its percentiles, sampled by linear interpolation between them.
struct Percentiles: Equatable {
    var at: [Double]
    var values: [Double]

    /// The value at quantile `u` (0...1).
    func sample(_ u: Double) -> Double {
        let u = min(max(u, 0), 1)
        for i in 1..<at.count where u <= at[i] {
            let width = at[i] - at[i - 1]
            let t = width > 0 ? (u - at[i - 1]) / width : 0
            return values[i - 1] + t * (values[i] - values[i - 1])
        }
        return values[values.count - 1]
    }
}

/// A small, fast, seedable generator (SplitMix64): repeatable traces for a seed (and the benchmarks' bytes).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
