#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthLogs
import HearthModel

/// A function's log as Lambda writes it: the runtime's output between START,
/// END and REPORT lines (tab-separated), streamed to a sink, with the last
/// 4 KB kept for X-Amz-Log-Result. With LoggingConfig's JSON format those
/// lines are Telemetry-API-shaped objects instead (platform.start,
/// platform.runtimeDone, platform.report), left out at SystemLogLevel WARN.
public final class InvocationLog: @unchecked Sendable {
    public static let tailBytes = 4096
    private let lock = NSLock()
    private var tailBuffer: [UInt8] = []
    /// START and END lines wait here for the next output or the REPORT line: one write to the sink, not one per line.
    private var pending: [UInt8] = []
    private let sink: (@Sendable ([UInt8]) -> Void)?
    private let logging: LoggingConfig

    public init(sink: (@Sendable ([UInt8]) -> Void)? = nil, logging: LoggingConfig = .text) {
        self.sink = sink
        self.logging = logging
    }

    /// A line of output still being written waits for its newline up to this size (Lambda's largest log event).
    static let openLineLimit = 256 * 1024

    /// The runtime's output: its complete lines passed on at once, after any lines still pending. A line
    /// still being written waits for its newline (Python's print writes its words one write at a time,
    /// and the pipe may be read between them), for the next START, END or REPORT line, before which it
    /// is passed on as a line of its own, or for `openLineLimit`.
    public func append(_ bytes: [UInt8]) { record(bytes, flush: true, output: true) }

    public func line(_ text: String) { record(Array((text + "\n").utf8), flush: false) }

    private func record(_ bytes: [UInt8], flush: Bool, output: Bool = false) {
        let out: [[UInt8]] = lock.withLock {
            tailBuffer += bytes
            if tailBuffer.count > 4 * Self.tailBytes { tailBuffer.removeFirst(tailBuffer.count - Self.tailBytes) }
            // Platform lines end with their newline, so pending ends inside a line only when the
            // runtime's output does.
            var chunks: [[UInt8]] = []
            if !output && pending.last.map({ $0 != 0x0A }) == true {
                chunks.append(pending)
                pending = []
            }
            pending += bytes
            guard flush else { return chunks }
            if pending.last.map({ $0 != 0x0A }) == true && pending.count <= Self.openLineLimit {
                if let newline = pending.lastIndex(of: 0x0A) {
                    chunks.append(Array(pending[...newline]))
                    pending.removeSubrange(...newline)
                }
                return chunks
            }
            chunks.append(pending)
            pending = []
            return chunks
        }
        for chunk in out where !chunk.isEmpty { sink?(chunk) }
    }

    /// The last 4 KB, as X-Amz-Log-Result carries it (base64 by the caller).
    public var tail: [UInt8] { lock.withLock { Array(tailBuffer.suffix(Self.tailBytes)) } }

    public func start(requestId: String, version: String) {
        guard logging.writesPlatformInfo else { return }
        guard logging.isJSON else { return line("START RequestId: \(requestId) Version: \(version)") }
        platform("platform.start", flush: false) { json in
            json.key("requestId"); json.string(requestId)
            json.key("version"); json.string(version)
        }
    }

    /// - Parameter status: how the invocation ended, as platform.runtimeDone words it (JSON format only).
    public func end(requestId: String, status: String = "success") {
        guard logging.writesPlatformInfo else { return }
        guard logging.isJSON else { return line("END RequestId: \(requestId)") }
        platform("platform.runtimeDone", flush: false) { json in
            json.key("requestId"); json.string(requestId)
            json.key("status"); json.string(status)
        }
    }

    /// One system log record as LoggingConfig's JSON format writes it: {"time", "type", "record"}.
    private func platform(_ type: String, flush: Bool, _ fields: (inout JSONText) -> Void) {
        var json = JSONText()
        json.open("{")
        json.key("time"); json.string(LogTime.iso8601(milliseconds: LogTime.nowMilliseconds()))
        json.key("type"); json.string(type)
        json.key("record")
        json.open("{")
        fields(&json)
        json.close("}")
        json.close("}")
        record(json.bytes + [0x0A], flush: flush)
    }

    /// The figures of a REPORT line.
    public struct Report: Sendable, Equatable {
        public var durationMs: Double
        public var memorySizeMB: Int
        public var maxMemoryUsedMB: Int
        public var initDurationMs: Double?
        /// "timeout" or "error" (with an error type), as Lambda's current REPORT lines add them.
        public var status: String?
        public var errorType: String?

        public var billedDurationMs: Int { max(1, Int(durationMs.rounded(.up))) }

        public init(durationMs: Double, memorySizeMB: Int, maxMemoryUsedMB: Int, initDurationMs: Double?, end: InvocationEnd) {
            self.durationMs = durationMs
            self.memorySizeMB = memorySizeMB
            self.maxMemoryUsedMB = maxMemoryUsedMB
            self.initDurationMs = initDurationMs
            status = end.reportStatus
            errorType = end.reportErrorType
        }
    }

    public func report(requestId: String, _ r: Report) {
        guard logging.writesPlatformInfo else { return record([], flush: true) }
        if logging.isJSON {
            return platform("platform.report", flush: true) { json in
                json.key("requestId"); json.string(requestId)
                json.key("metrics")
                json.open("{")
                json.key("durationMs"); json.raw(Self.twoDecimals(r.durationMs))
                json.key("billedDurationMs"); json.raw(String(r.billedDurationMs))
                json.key("memorySizeMB"); json.raw(String(r.memorySizeMB))
                json.key("maxMemoryUsedMB"); json.raw(String(r.maxMemoryUsedMB))
                if let initMs = r.initDurationMs { json.key("initDurationMs"); json.raw(Self.twoDecimals(initMs)) }
                json.close("}")
                json.key("status"); json.string(r.status ?? "success")
                if let type = r.errorType { json.key("errorType"); json.string(type) }
            }
        }
        var text = "REPORT RequestId: \(requestId)\tDuration: \(Self.twoDecimals(r.durationMs)) ms\tBilled Duration: \(r.billedDurationMs) ms"
        text += "\tMemory Size: \(r.memorySizeMB) MB\tMax Memory Used: \(r.maxMemoryUsedMB) MB"
        if let initMs = r.initDurationMs { text += "\tInit Duration: \(Self.twoDecimals(initMs)) ms" }
        if let status = r.status {
            text += "\tStatus: \(status)"
            if let type = r.errorType { text += "\tError Type: \(type)" }
        }
        record(Array((text + "\t\n").utf8), flush: true)
    }

    /// `value` as "%.2f" prints it: the exact binary value rounded to hundredths, ties to even.
    /// On every invocation, so without String(format:) or a va_list (~1% of the daemon's CPU).
    static func twoDecimals(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e13 else { return value.isNaN ? "nan" : "0.00" }
        let v = abs(value)
        // floor(v * 100), corrected where the product rounded across an integer; fma's single
        // rounding keeps the sign of each exact difference.
        var h = (v * 100).rounded(.down)
        if (-h).addingProduct(v, 100) < 0 { h -= 1 }
        if (-(h + 1)).addingProduct(v, 100) >= 0 { h += 1 }
        // Above or below the midpoint (2h + 1) / 200, exactly; on it, to even.
        let beyondMidpoint = (-(2 * h + 1)).addingProduct(v, 200)
        if beyondMidpoint > 0 || (beyondMidpoint == 0 && h.truncatingRemainder(dividingBy: 2) != 0) { h += 1 }
        let hundredths = Int64(h)
        let fraction = hundredths % 100
        let sign = value.sign == .minus ? "-" : ""
        return sign + String(hundredths / 100) + (fraction < 10 ? ".0" : ".") + String(fraction)
    }
}
