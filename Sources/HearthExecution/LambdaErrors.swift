import Foundation
import HearthModel
import HearthSandbox

/// The error documents callers get when the platform, not the function, ends an invocation.
public enum LambdaErrors {
    public static func document(type: String, message: String) -> [UInt8] {
        let object = ["errorMessage": message, "errorType": type]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
    }

    /// The document for `failure` in one invocation: "RequestId: ... Error: " and its message, or `message`.
    public static func document(_ failure: PlatformFailure, requestId: String, message: String? = nil) -> [UInt8] {
        document(type: failure.errorType, message: "RequestId: \(requestId) Error: \(message ?? failure.message)")
    }

    /// "Task timed out after 3.00 seconds", with the seconds the function was allowed.
    public static func timedOut(requestId: String, seconds: Double) -> [UInt8] {
        document(.timedOut, requestId: requestId, message: "Task timed out after \(String(format: "%.2f", seconds)) seconds")
    }

    /// Runtime.ExitError with the status as Lambda words it ("exit status 1", "signal: killed").
    public static func exited(requestId: String, status: SandboxExit.Status) -> [UInt8] {
        let detail = describe(status)
        return document(.runtimeExited(detail: detail), requestId: requestId, message: "Runtime exited with error: \(detail)")
    }

    public static func describe(_ status: SandboxExit.Status) -> String {
        switch status {
        case .exited(let code): return "exit status \(code)"
        case .execFailed(let errno): return "exec failed: \(String(cString: strerror(errno)))"
        case .signaled(let sig):
            let names: [Int32: String] = [SIGKILL: "killed", SIGTERM: "terminated", SIGABRT: "aborted", SIGSEGV: "segmentation fault",
                                          SIGBUS: "bus error", SIGILL: "illegal instruction", SIGFPE: "floating point exception",
                                          SIGSYS: "bad system call", SIGINT: "interrupt", SIGPIPE: "broken pipe"]
            return "signal: " + (names[sig] ?? String(sig))
        }
    }
}
