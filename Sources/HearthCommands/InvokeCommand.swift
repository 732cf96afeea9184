import ArgumentParser
import Foundation

/// `hearth invoke`: the result on stdout, the log tail on stderr with --tail; exit 1 on a function error.
public struct InvokeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "invoke", abstract: "Invoke a function on the daemon.",
        discussion: "Exit status: 0 success, 1 function error (the error document is on stdout), 2 bad usage.")

    @Argument(help: "Function name, NAME:QUALIFIER or ARN.") var name: String
    @Argument(help: "Event JSON (default {}).") var payload: String?
    @Option(name: .customLong("payload-file"), help: "Read the event from a file (- for stdin).") var payloadFile: String?
    @Option(help: "Version or alias.") var qualifier: String?
    @Flag(help: "Print the last 4 KB of the log to stderr.") var tail = false
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        var event = Array((payload ?? "{}").utf8)
        if let payloadFile {
            guard payload == nil else { throw ValidationError("give the event inline or with --payload-file, not both") }
            let data = payloadFile == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: payloadFile)
            guard let data else { throw ValidationError("cannot read \(payloadFile)") }
            event = Array(data)
        }
        var path = "/2015-03-31/functions/\(APIClient.escape(name))/invocations"
        if let qualifier { path += "?Qualifier=" + APIClient.escape(qualifier) }
        let response = try api.call(.POST, path, body: event, headers: tail ? [("X-Amz-Log-Type", "Tail")] : [])
        if tail, let log = response.headers["x-amz-log-result"].flatMap({ Data(base64Encoded: $0) }) {
            FileHandle.standardError.write(log)
        }
        let failed = response.headers["x-amz-function-error"] != nil
        if client.json {
            printJSON(["StatusCode": response.status, "ExecutedVersion": response.headers["x-amz-executed-version"] ?? "",
                       "FunctionError": response.headers["x-amz-function-error"] ?? NSNull(), "Payload": response.json ?? response.text])
        } else {
            FileHandle.standardOutput.write(Data(response.body + (response.body.last == UInt8(ascii: "\n") ? [] : [10])))
        }
        if failed { throw ExitCode(1) }
    }
}
