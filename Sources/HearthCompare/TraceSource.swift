import Foundation

/// Where a trace comes from, as `hearth compare --trace` names it: a file (its format told by its
/// header) or a synthetic shape.
public enum TraceSource: Sendable {
    case file(path: String)
    case synthetic(SyntheticShape)

    /// A shape (`steady:RATE`, `bursty:…`, `diurnal:…`, `sparse:…`) or a path.
    public static func parse(_ text: String) throws(TraceError) -> TraceSource {
        if let colon = text.firstIndex(of: ":"), SyntheticShape.names.contains(String(text[..<colon])) {
            return .synthetic(try SyntheticShape.parse(text))
        }
        return .file(path: text)
    }

    /// Reads the trace. `select` picks a function in a multi-function file (its hash, or a prefix of
    /// it); `duration` is how long a synthetic shape runs; `seed` makes sampled values repeatable.
    public func load(select: String? = nil, duration: Double = 600, seed: UInt64 = 1) throws(TraceError) -> Trace {
        switch self {
        case .synthetic(let shape):
            return shape.generate(duration: duration, seed: seed)
        case .file(let path):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw TraceError("cannot read the trace \(path): \(error.localizedDescription)")
            }
            let name = (path as NSString).lastPathComponent
            let header = text.prefix { $0 != "\n" && $0 != "\r" }
            if header.hasPrefix("HashOwner,HashApp,HashFunction,Trigger,") {
                return try AzureFunctions2019.read(invocations: text, path: path, select: select, seed: seed)
            }
            if header.replacingOccurrences(of: " ", with: "") == "app,func,end_timestamp,duration" {
                return try AzureFunctions2021.read(text, file: name, select: select)
            }
            return try ArrivalsCSV.read(text, file: name)
        }
    }
}

/// Splits a file into its non-empty lines, numbered from 1, without a trailing carriage return.
func numberedLines(_ text: String) -> [(number: Int, text: Substring)] {
    var lines: [(Int, Substring)] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
        if !trimmed.trimmingCharacters(in: .whitespaces).isEmpty { lines.append((index + 1, trimmed)) }
    }
    return lines
}

/// A finite number, or nil.
func finite(_ text: Substring) -> Double? {
    guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
    return value
}
