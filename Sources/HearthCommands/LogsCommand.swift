#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hearth logs`: a function's log as the daemon keeps it; --follow keeps printing new lines.
public struct LogsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a function's log.")

    @Argument(help: "Function name.") var name: String
    @Flag(help: "Keep printing as the log grows (Ctrl-C to stop).") var follow = false
    @Flag(help: "Print each line after the time it was written (UTC).") var timestamps = false
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        var offset = 0
        while true {
            let response = try api.call(.GET, "/hearth/v1/functions/\(APIClient.escape(name))/logs?offset=\(offset)" + (timestamps ? "&timestamps=1" : ""))
            if !response.body.isEmpty { FileHandle.standardOutput.write(Data(response.body)) }
            let next = response.headers["x-hearth-next-offset"].flatMap(Int.init) ?? offset
            if !follow { return }
            if next == offset { usleep(300_000) }
            offset = next
        }
    }
}
