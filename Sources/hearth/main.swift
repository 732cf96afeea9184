import ArgumentParser
import HearthCommands

#if canImport(Glibc)
import Glibc
#endif

// `hearth sandbox run` is timed against `crun run`: a well-formed one is parsed without ArgumentParser,
// whose first parse costs milliseconds of conformance scans in an executable this size. Anything else
// (help, completions, a usage error) goes through the root parser, which reports it as usual.
let arguments = CommandLine.arguments.dropFirst()
if arguments.count > 2, arguments.prefix(2).elementsEqual(["sandbox", "run"]),
   let options = SandboxRunOptions(wellFormed: Array(arguments.dropFirst(2))) {
    exit(SandboxRunCommand.execute(options))
}

do {
    var command = try HearthCommand.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    // A status a command chose (`hearth sandbox run` passes its command's on, 64 included), not a usage error.
    exit(code.rawValue)
} catch {
    // Bad usage exits 2 (ArgumentParser's default is 64), as documented in README.md.
    if HearthCommand.exitCode(for: error) == .validationFailure {
        printError(HearthCommand.fullMessage(for: error))
        exit(2)
    }
    HearthCommand.exit(withError: error)
}
