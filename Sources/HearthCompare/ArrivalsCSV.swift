import Foundation

/// The simple trace: one arrival per line, `SECONDS[,DURATION_MS]` (seconds from the trace's start,
/// in any order), an optional header line, `#` comments.
enum ArrivalsCSV {
    static func read(_ text: String, file: String) throws(TraceError) -> Trace {
        var arrivals: [Arrival] = []
        for (index, line) in numberedLines(text).enumerated() {
            if line.text.hasPrefix("#") { continue }
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false)
            // A header: a first line whose first field is not a number.
            if index == 0, finite(fields[0]) == nil, fields[0].contains(where: \.isLetter) { continue }
            guard fields.count <= 2 else { throw TraceError.at(file, line.number, "expected SECONDS[,DURATION_MS], got \(fields.count) fields") }
            guard let offset = finite(fields[0]), offset >= 0 else {
                throw TraceError.at(file, line.number, "'\(fields[0])' is not an arrival time in seconds (a number from 0)")
            }
            var duration: Double?
            if fields.count == 2, !fields[1].trimmingCharacters(in: .whitespaces).isEmpty {
                guard let ms = finite(fields[1]), ms >= 0 else { throw TraceError.at(file, line.number, "'\(fields[1])' is not a duration in ms") }
                duration = ms
            }
            guard arrivals.count < Trace.maximumArrivals else {
                throw TraceError.at(file, line.number, "more than \(Trace.maximumArrivals) arrivals: too many to replay")
            }
            arrivals.append(Arrival(offset: offset, durationMs: duration))
        }
        guard !arrivals.isEmpty else { throw TraceError("\(file): no arrivals") }
        return Trace(name: "csv \(file)", arrivals: arrivals)
    }
}
