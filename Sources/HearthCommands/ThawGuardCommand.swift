import ArgumentParser
import HearthModel
import HearthSandbox

/// `hearth thaw-guard`: started by `hearth serve`, never by hand. Its stdin is the daemon's lifeline;
/// when the daemon dies, it thaws the daemon's frozen sandboxes so that their inits can end them.
struct ThawGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thaw-guard", abstract: "Thaws a dead daemon's frozen sandboxes (started by hearth serve).", shouldDisplay: false)

    @Option(help: "The uid block of the daemon whose sandboxes to thaw.") var block: Int
    @Argument(help: "The directories that hold the daemon's sandbox cgroups.") var parents: [String]

    func validate() throws {
        guard block >= 0 else { throw ValidationError("--block must not be negative, got \(block)") }
        for parent in parents where !parent.hasPrefix("/") {
            throw ValidationError("a sandbox parent directory must be an absolute path, got '\(parent)'")
        }
    }

    func run() {
        _ = ThawGuard.watch(lifeline: 0, parents: parents, block: block)
    }
}
