import Foundation
import HearthLogs
import HearthModel
import HearthState
import HearthSupervisor
import Synchronization

/// CloudWatch Logs' read API (service "logs", JSON 1.1: POST / with X-Amz-Target: Logs_20140328.Op) over
/// the functions' logs: a function's group is its LoggingConfig.LogGroup, `/aws/lambda/NAME` by default,
/// with one stream per execution environment. What `aws logs tail`, `filter_log_events` and the
/// Insights queries of benchmark tools call.
extension LambdaAPI {
    static let logsTargetPrefix = "Logs_20140328."

    func logsOperation(_ operation: String, _ request: APIRequest) async -> APIResponse {
        do throws(ServiceError) {
            let body = try await request.json(required: false)
            switch operation {
            case "DescribeLogGroups": return try await describeLogGroups(body)
            case "DescribeLogStreams": return try await describeLogStreams(body)
            case "GetLogEvents": return try await getLogEvents(body)
            case "FilterLogEvents": return try await filterLogEvents(body)
            case "DeleteLogGroup": return try deleteLogGroup(body)
            case "StartQuery": return try await startQuery(body)
            case "GetQueryResults": return try getQueryResults(body)
            case "StopQuery": return .json(200, ["success": false])
            default: throw ServiceError(status: 400, type: "UnknownOperationException", message: "Hearth does not serve the logs operation \(operation)")
            }
        } catch {
            // JSON 1.1's error shape: {"__type", "message"}.
            var response = APIResponse.json(error.status, ["__type": error.type, "message": error.message])
            response.headers.append(("x-amzn-ErrorType", error.type))
            return response
        }
    }

    /// Every log group and the functions writing to it.
    private func logGroups() throws(ServiceError) -> [String: [String]] {
        var groups: [String: [String]] = [:]
        var marker: String?
        repeat {
            let page = try functions.list(marker: marker, maxItems: 10_000)
            for record in page.functions {
                groups[record.loggingConfig?.logGroup ?? "/aws/lambda/\(record.name)", default: []].append(record.name)
            }
            marker = page.nextMarker
        } while marker != nil
        return groups
    }

    private func groupFunctions(_ body: JSONBody) throws(ServiceError) -> (group: String, functions: [String]) {
        let byName = try body.string("logGroupName"), byIdentifier = try body.string("logGroupIdentifier")
        guard let named = byName ?? byIdentifier else {
            throw Self.logsInvalid("Either logGroupName or logGroupIdentifier must be specified")
        }
        // An identifier may be the group's ARN.
        let group = named.hasPrefix("arn:") ? String(named.split(separator: ":", maxSplits: 6).last ?? "").replacingOccurrences(of: "log-group:", with: "") : named
        guard let functions = try logGroups()[group] else {
            throw Self.logsNotFound("The specified log group does not exist.")
        }
        return (group, functions)
    }

    static func logsInvalid(_ message: String) -> ServiceError { ServiceError(status: 400, type: "InvalidParameterException", message: message) }
    static func logsNotFound(_ message: String) -> ServiceError { ServiceError(status: 400, type: "ResourceNotFoundException", message: message) }
    static let invalidToken = logsInvalid("The specified nextToken is invalid.")

    private static func limit(_ body: JSONBody, max: Int, default value: Int) throws(ServiceError) -> Int {
        guard let limit = try body.int("limit") else { return value }
        guard (1...max).contains(limit) else {
            throw logsInvalid("1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value "
                              + (limit < 1 ? "greater than or equal to 1" : "less than or equal to \(max)"))
        }
        return limit
    }

    private func groupARN(_ group: String) -> String { "arn:aws:logs:\(region):\(LambdaARN.accountId):log-group:\(group)" }

    /// An offset-based page token for the Describe calls.
    private static func offset(_ token: String?) throws(ServiceError) -> Int {
        guard let token else { return 0 }
        guard token.hasPrefix("o/"), let n = Int(token.dropFirst(2)), n >= 0 else { throw invalidToken }
        return n
    }

    func describeLogGroups(_ body: JSONBody) async throws(ServiceError) -> APIResponse {
        let limit = try Self.limit(body, max: 50, default: 50)
        let prefix = try body.string("logGroupNamePrefix"), pattern = try body.string("logGroupNamePattern")
        if prefix != nil && pattern != nil { throw Self.logsInvalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.") }
        let start = try Self.offset(try body.string("nextToken"))
        let groups = try logGroups().filter { name, _ in
            (prefix.map { name.hasPrefix($0) } ?? true) && (pattern.map { name.lowercased().contains($0.lowercased()) } ?? true)
        }.sorted { $0.key < $1.key }
        let page = groups.dropFirst(start).prefix(limit)
        let store = service.logStore
        // A group is as old as its first stored line.
        let figures = try await BlockingWork.run { () throws(ServiceError) -> [(created: Int64, bytes: Int)] in
            page.map { _, functions in
                var first: Int64?
                for function in functions { store.scan(function) { first = min(first ?? $0.timestamp, $0.timestamp); return false } }
                return (first ?? LogTime.nowMilliseconds(), functions.reduce(0) { $0 + store.storedBytes($1) })
            }
        }
        let described = zip(page, figures).map { entry, figure -> [String: Any] in
            ["logGroupName": entry.key, "creationTime": figure.created, "metricFilterCount": 0, "arn": groupARN(entry.key) + ":*",
             "logGroupArn": groupARN(entry.key), "logGroupClass": "STANDARD", "storedBytes": figure.bytes]
        }
        var out: [String: Any] = ["logGroups": described]
        if start + page.count < groups.count { out["nextToken"] = "o/\(start + page.count)" }
        return .json(200, out)
    }

    func describeLogStreams(_ body: JSONBody) async throws(ServiceError) -> APIResponse {
        let (group, functions) = try groupFunctions(body)
        let limit = try Self.limit(body, max: 50, default: 50)
        let prefix = try body.string("logStreamNamePrefix")
        let orderBy = try body.string("orderBy") ?? "LogStreamName"
        guard orderBy == "LogStreamName" || orderBy == "LastEventTime" else {
            throw Self.logsInvalid("1 validation error detected: Value '\(orderBy)' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")
        }
        if orderBy == "LastEventTime" && prefix != nil { throw Self.logsInvalid("Cannot order by LastEventTime with a logStreamNamePrefix.") }
        let descending = try body.bool("descending") ?? false
        let start = try Self.offset(try body.string("nextToken"))
        let store = service.logStore
        struct Stream: Sendable { var name: String; var first: Int64; var last: Int64; var bytes: Int }
        var streams = try await BlockingWork.run { () throws(ServiceError) -> [Stream] in
            var byName: [String: Stream] = [:]
            for function in functions {
                store.scan(function) { event in
                    guard prefix.map({ event.stream.hasPrefix($0) }) ?? true else { return true }
                    var stream = byName[event.stream] ?? Stream(name: event.stream, first: event.timestamp, last: event.timestamp, bytes: 0)
                    stream.last = max(stream.last, event.timestamp)
                    stream.bytes += event.message.utf8.count
                    byName[event.stream] = stream
                    return true
                }
            }
            return Array(byName.values)
        }
        streams.sort { orderBy == "LastEventTime" ? ($0.last, $0.name) < ($1.last, $1.name) : $0.name < $1.name }
        if descending { streams.reverse() }
        let page = streams.dropFirst(start).prefix(limit)
        var out: [String: Any] = ["logStreams": page.map { s -> [String: Any] in
            ["logStreamName": s.name, "creationTime": s.first, "firstEventTimestamp": s.first, "lastEventTimestamp": s.last,
             "lastIngestionTime": s.last, "uploadSequenceToken": "1", "storedBytes": 0,
             "arn": groupARN(group) + ":log-stream:" + s.name]
        }]
        if start + page.count < streams.count { out["nextToken"] = "o/\(start + page.count)" }
        return .json(200, out)
    }

    /// Lambda's text lines end with their newline in CloudWatch; its JSON records do not.
    static func cloudWatchMessage(_ event: LogEvent) -> String {
        event.message.hasPrefix("{") && event.message.hasSuffix("}") ? event.message : event.message + "\n"
    }

    func getLogEvents(_ body: JSONBody) async throws(ServiceError) -> APIResponse {
        let (_, functions) = try groupFunctions(body)
        guard let stream = try body.string("logStreamName") else { throw Self.logsInvalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null") }
        let limit = try Self.limit(body, max: 10_000, default: 10_000)
        let startTime = try body.int("startTime").map(Int64.init), endTime = try body.int("endTime").map(Int64.init)
        let fromHead = try body.bool("startFromHead") ?? false
        let token = try body.string("nextToken")
        let (forward, boundary) = try Self.eventsToken(token)
        let store = service.logStore
        let (found, exists) = try await BlockingWork.run { () throws(ServiceError) -> ([LogEvent], Bool) in
            var events: [LogEvent] = []
            var exists = false
            for function in functions {
                store.scan(function) { event in
                    guard event.stream == stream else { return true }
                    exists = true
                    if let startTime, event.timestamp < startTime { return true }
                    if let endTime, event.timestamp > endTime { return true }
                    switch forward {
                    case true?: if event.sequence <= boundary { return true }
                    case false?: if event.sequence >= boundary { return true }
                    case nil: break
                    }
                    events.append(event)
                    return true
                }
            }
            return (events, exists)
        }
        guard exists else { throw Self.logsNotFound("The specified log stream does not exist.") }
        let taken = (forward ?? fromHead) ? Array(found.prefix(limit)) : Array(found.suffix(limit))
        let first = taken.first?.sequence, last = taken.last?.sequence
        return .json(200, [
            "events": taken.map { ["timestamp": $0.timestamp, "message": Self.cloudWatchMessage($0), "ingestionTime": $0.timestamp] as [String: Any] },
            // Nothing taken: the tokens stay where the caller was, so a paging loop ends.
            "nextForwardToken": "f/\(last ?? boundary)",
            "nextBackwardToken": "b/\(first ?? boundary)",
        ])
    }

    /// GetLogEvents' tokens: "f/N" (events after sequence N) and "b/N" (before it).
    private static func eventsToken(_ token: String?) throws(ServiceError) -> (forward: Bool?, boundary: UInt64) {
        guard let token else { return (nil, 0) }
        let parts = token.split(separator: "/")
        guard parts.count == 2, parts[0] == "f" || parts[0] == "b", let n = UInt64(parts[1]) else { throw invalidToken }
        return (parts[0] == "f", n)
    }

    /// FilterLogEvents' token: per function of the group, the last sequence number already returned
    /// ("NAME=SEQ,...", base64).
    private static func filterToken(_ token: String?) throws(ServiceError) -> [String: UInt64] {
        guard let token else { return [:] }
        guard let decoded = Data(base64Encoded: token).map({ String(decoding: $0, as: UTF8.self) }) else { throw invalidToken }
        var after: [String: UInt64] = [:]
        for pair in decoded.split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let seq = UInt64(kv[1]) else { throw invalidToken }
            after[String(kv[0])] = seq
        }
        return after
    }

    func filterLogEvents(_ body: JSONBody) async throws(ServiceError) -> APIResponse {
        let (_, functions) = try groupFunctions(body)
        let limit = try Self.limit(body, max: 10_000, default: 10_000)
        let streams = try body.strings("logStreamNames").map(Set.init)
        let prefix = try body.string("logStreamNamePrefix")
        if streams != nil && prefix != nil { throw Self.logsInvalid("logStreamNames and logStreamNamePrefix are mutually exclusive") }
        let startTime = try body.int("startTime").map(Int64.init), endTime = try body.int("endTime").map(Int64.init)
        let pattern: FilterPattern
        let patternText = try body.string("filterPattern") ?? ""
        do { pattern = try FilterPattern(patternText) } catch { throw Self.logsInvalid(error.description) }
        let after = try Self.filterToken(try body.string("nextToken"))
        let store = service.logStore
        let found = try await BlockingWork.run { [after] () throws(ServiceError) -> [(function: String, event: LogEvent)] in
            var found: [(function: String, event: LogEvent)] = []
            for function in functions {
                var taken = 0
                let from = after[function] ?? 0
                store.scan(function) { event in
                    guard event.sequence > from else { return true }
                    if let streams, !streams.contains(event.stream) { return true }
                    if let prefix, !event.stream.hasPrefix(prefix) { return true }
                    if let startTime, event.timestamp < startTime { return true }
                    if let endTime, event.timestamp > endTime { return true }
                    guard pattern.matches(event.message) else { return true }
                    found.append((function, event))
                    taken += 1
                    // The merge below takes at most `limit`: one more tells that there are more.
                    return taken <= limit
                }
            }
            return found
        }
        let merged = found.sorted { ($0.event.timestamp, $0.function, $0.event.sequence) < ($1.event.timestamp, $1.function, $1.event.sequence) }
        let page = merged.prefix(limit)
        var out: [String: Any] = [
            "events": page.map { ["logStreamName": $0.event.stream, "timestamp": $0.event.timestamp, "message": Self.cloudWatchMessage($0.event),
                                  "ingestionTime": $0.event.timestamp, "eventId": $0.event.eventId] as [String: Any] },
            "searchedLogStreams": [Any](),
        ]
        if merged.count > limit {
            var next = after
            for (function, event) in page { next[function] = max(next[function] ?? 0, event.sequence) }
            out["nextToken"] = Data(next.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",").utf8).base64EncodedString()
        }
        return .json(200, out)
    }

    func deleteLogGroup(_ body: JSONBody) throws(ServiceError) -> APIResponse {
        let (_, functions) = try groupFunctions(body)
        for function in functions { service.logStore.remove(function) }
        return .json(200, [String: Any]())
    }

    func startQuery(_ body: JSONBody) async throws(ServiceError) -> APIResponse {
        let byNames = try body.strings("logGroupNames"), byIdentifiers = try body.strings("logGroupIdentifiers")
        var names = byNames ?? byIdentifiers ?? []
        if let one = try body.string("logGroupName") { names.append(one) }
        guard !names.isEmpty else { throw Self.logsInvalid("Log group names or identifiers must be specified") }
        guard let text = try body.string("queryString") else { throw Self.logsInvalid("1 validation error detected: Value null at 'queryString' failed to satisfy constraint: Member must not be null") }
        guard let startTime = try body.int("startTime"), let endTime = try body.int("endTime") else {
            throw Self.logsInvalid("startTime and endTime (seconds since the epoch) must be specified")
        }
        guard endTime >= startTime else { throw Self.logsInvalid("End time should not be before the start time") }
        let limit = try Self.limit(body, max: 10_000, default: 10_000)
        let query: InsightsQuery
        do { query = try InsightsQuery(text) } catch { throw ServiceError(status: 400, type: "MalformedQueryException", message: error.description) }
        let groups = try logGroups()
        var targets: [(group: String, functions: [String])] = []
        for name in names {
            guard let functions = groups[name] else { throw Self.logsNotFound("Log group '\(name)' does not exist for account ID '\(LambdaARN.accountId)'") }
            targets.append((name, functions))
        }
        let store = service.logStore
        let from = Int64(startTime) * 1000, to = Int64(endTime) * 1000 + 999
        let result = try await BlockingWork.run { [targets] () throws(ServiceError) -> InsightsResults.Result in
            var scanned = 0, bytes = 0
            var events: [(group: String, event: LogEvent)] = []
            for (group, functions) in targets {
                for function in functions {
                    store.scan(function) { event in
                        guard event.timestamp >= from && event.timestamp <= to else { return true }
                        events.append((group, event))
                        scanned += 1
                        bytes += event.message.utf8.count
                        return true
                    }
                }
            }
            events.sort { ($0.event.timestamp, $0.event.sequence) < ($1.event.timestamp, $1.event.sequence) }
            let run = query.run(events, account: LambdaARN.accountId, limit: limit)
            return .init(rows: run.rows, matched: run.matched, scanned: scanned, bytes: bytes)
        }
        let id = RequestIdentifiers.uuid()
        insightsResults.store(id, result)
        return .json(200, ["queryId": id])
    }

    func getQueryResults(_ body: JSONBody) throws(ServiceError) -> APIResponse {
        guard let id = try body.string("queryId"), let result = insightsResults.result(id) else {
            throw Self.logsNotFound("Query does not exist.")
        }
        return .json(200, [
            "status": "Complete",
            "results": result.rows.map { row in row.map { ["field": $0.field, "value": $0.value] } },
            "statistics": ["recordsMatched": Double(result.matched), "recordsScanned": Double(result.scanned), "bytesScanned": Double(result.bytes)],
        ])
    }
}

/// Finished Logs Insights queries, for GetQueryResults: the most recent 100.
final class InsightsResults: Sendable {
    struct Result: Sendable {
        var rows: [[(field: String, value: String)]]
        var matched: Int
        var scanned: Int
        var bytes: Int
    }

    private let results = Mutex<(order: [String], byId: [String: Result])>(([], [:]))

    func store(_ id: String, _ result: Result) {
        results.withLock { state in
            state.order.append(id)
            state.byId[id] = result
            if state.order.count > 100 { state.byId[state.order.removeFirst()] = nil }
        }
    }

    func result(_ id: String) -> Result? { results.withLock { $0.byId[id] } }
}
