import ArgumentParser
import HearthCommands

#if canImport(Glibc)
import Glibc
#endif

// Bad usage exits 2 (ArgumentParser's default is 64), as documented in README.md.
do {
    var command = try HearthCommand.parseAsRoot()
    try command.run()
} catch {
    if HearthCommand.exitCode(for: error) == .validationFailure {
        let message = HearthCommand.fullMessage(for: error)
        printError(message)
        exit(2)
    }
    HearthCommand.exit(withError: error)
}
