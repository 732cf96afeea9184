import ArgumentParser
import HearthCommands

#if canImport(Glibc)
import Glibc
#endif

/// `hearth sandbox run` is timed against `crun run`, so a well-formed one parses only its own command:
/// the whole tree costs milliseconds of conformance lookups in an executable this size. Anything else
/// (help, a completion request, a usage error) goes through the root, which reports it as usual; the
/// command alone would capture help and completion flags as the command to run.
func parseSandboxRunAlone() -> (any ParsableCommand)? {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.count > 2, arguments[0] == "sandbox", arguments[1] == "run" else { return nil }
    let own = arguments.dropFirst(2).prefix { $0 != "--" }
    guard !own.contains(where: { $0 == "-h" || $0 == "--help" || $0 == "help" || $0.hasPrefix("--generate-completion")
                                   || $0.hasPrefix("--experimental") || $0 == "--version" }) else { return nil }
    return try? SandboxRunCommand.parse(Array(arguments.dropFirst(2)))
}

// Bad usage exits 2 (ArgumentParser's default is 64), as documented in README.md.
do {
    var command = try parseSandboxRunAlone() ?? HearthCommand.parseAsRoot()
    try command.run()
} catch {
    if HearthCommand.exitCode(for: error) == .validationFailure {
        let message = HearthCommand.fullMessage(for: error)
        printError(message)
        exit(2)
    }
    HearthCommand.exit(withError: error)
}
