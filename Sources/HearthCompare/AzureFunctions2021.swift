import Foundation

/// The Azure Functions invocation trace 2021: one row per invocation, `app,func,end_timestamp,duration`
/// (seconds). A function's arrivals are its rows' ends less their durations, from its first arrival on.
enum AzureFunctions2021 {
    static func read(_ text: String, file: String, select: String?) throws(TraceError) -> Trace {
        var chosen: Substring?
        var arrivals: [Arrival] = []
        for line in numberedLines(text).dropFirst() {
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 4 else { throw TraceError.at(file, line.number, "expected 4 fields (app, func, end_timestamp, duration), got \(fields.count)") }
            if chosen == nil, select.map({ fields[1].hasPrefix($0) }) ?? true { chosen = fields[1] }
            guard fields[1] == chosen else { continue }
            guard let end = finite(fields[2]), end >= 0 else { throw TraceError.at(file, line.number, "'\(fields[2])' is not a timestamp in seconds") }
            guard let duration = finite(fields[3]), duration >= 0, duration <= end else {
                throw TraceError.at(file, line.number, "'\(fields[3])' is not a duration in seconds at most its end timestamp")
            }
            guard arrivals.count < Trace.maximumArrivals else {
                throw TraceError.at(file, line.number, "more than \(Trace.maximumArrivals) invocations: too many to replay")
            }
            arrivals.append(Arrival(offset: end - duration, durationMs: duration * 1000))
        }
        guard let chosen else {
            throw TraceError("\(file): " + (select.map { "no invocation of a function whose hash starts with '\($0)'" } ?? "no invocations"))
        }
        let first = arrivals.map(\.offset).min() ?? 0
        return Trace(name: "azure2021 function \(chosen.prefix(12))",
                     arrivals: arrivals.map { Arrival(offset: $0.offset - first, durationMs: $0.durationMs) })
    }
}
