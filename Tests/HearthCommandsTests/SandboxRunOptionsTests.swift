import ArgumentParser
import Foundation
@testable import HearthCommands
import XCTest

/// hearth's main parses a well-formed `hearth sandbox run` itself (`SandboxRunOptions(wellFormed:)`) and
/// everything else with ArgumentParser (`SandboxRunCommand`): the two must never disagree.
final class SandboxRunOptionsTests: XCTestCase {
    private func argumentParser(_ arguments: [String]) throws -> SandboxRunOptions {
        try SandboxRunCommand.parse(arguments).options
    }

    /// Every option ArgumentParser declares for the command, read from its help.
    private func declaredOptions() throws -> [String] {
        let help = SandboxRunCommand.helpMessage(columns: 1000)
        let regex = try NSRegularExpression(pattern: "--[a-z][a-z-]*")
        let names = regex.matches(in: help, range: NSRange(help.startIndex..., in: help)).compactMap { Range($0.range, in: help).map { String(help[$0]) } }
        return Array(Set(names)).filter { $0 != "--help" }.sorted()
    }

    func testEveryDeclaredOptionIsParsedAsArgumentParserParsesIt() throws {
        let declared = try declaredOptions()
        XCTAssertEqual(declared.count, 11, "\(declared)")
        for option in declared {
            for arguments in [[option, "7", "--", "/bin/true"], [option + "=7", "--", "/bin/true"]] {
                let fast = try XCTUnwrap(SandboxRunOptions(wellFormed: arguments), "\(arguments) is well-formed")
                XCTAssertEqual(fast, try argumentParser(arguments), "\(arguments)")
                XCTAssertNotEqual(fast, SandboxRunOptions(wellFormed: ["--", "/bin/true"]), "\(option) went nowhere")
            }
        }
    }

    func testWellFormedLinesAreParsedAsArgumentParserParsesThem() throws {
        let lines: [[String]] = [
            ["--rootfs", "/srv/root", "--", "/bin/sh", "-c", "echo hi"],
            ["--rootfs=/srv/root", "--memory", "128", "--timeout=2.5", "--pids", "+20", "--tmp-size", "64", "--", "x"],
            ["--image", "img:latest", "--zip", "f.zip", "--layer", "a.zip", "--layer=b.zip", "--state-dir", "/var/x", "--", "handler"],
            ["--rootfs", "r", "--env", "A=1", "--env", "B==2", "--env=C=", "--workdir", "/tmp", "--", "cmd", "--", "--help", "-h"],
            ["--rootfs", "r", "--timeout", "1e3", "--", "cmd"],
            ["--rootfs", "r", "--timeout=-1", "--memory=-5", "--"],
            ["--rootfs", "r", "--", ""],
            ["--", "/bin/true", "--rootfs", "ignored"],
        ]
        for arguments in lines {
            let fast = try XCTUnwrap(SandboxRunOptions(wellFormed: arguments), "\(arguments) is well-formed")
            XCTAssertEqual(fast, try argumentParser(arguments), "\(arguments)")
        }
        let full = try XCTUnwrap(SandboxRunOptions(wellFormed: lines[3]))
        XCTAssertEqual(full.environment, ["A=1", "B==2", "C="])
        XCTAssertEqual(full.command, ["cmd", "--", "--help", "-h"])
    }

    /// What the fast path does not take, ArgumentParser gets: help, completions, errors and every form
    /// whose meaning is ArgumentParser's own rules.
    func testAnythingElseIsLeftToArgumentParser() {
        let lines: [[String]] = [
            ["--rootfs", "r", "/bin/true"],
            ["--help", "--", "x"], ["-h", "--", "x"], ["--version", "--", "x"],
            ["--generate-completion-script", "bash", "--", "x"], ["--experimental-dump-help", "--", "x"],
            ["--rootfs", "r", "--no-such", "1", "--", "x"],
            ["--rootfs", "r", "--rootfs", "s", "--", "x"],
            ["--rootfs", "r", "--memory", "1", "--memory=2", "--", "x"],
            ["--rootfs", "--", "x"], ["--rootfs=", "--", "x"], ["--rootfs", "", "--", "x"],
            ["--rootfs", "r", "--memory", "-5", "--", "x"],
            ["--rootfs", "r", "--memory", "lots", "--", "x"], ["--rootfs", "r", "--timeout=soon", "--", "x"],
            ["--rootfs", "r", "--pids", "99999999999999999999", "--", "x"],
            ["-m", "5", "--", "x"], ["r", "--", "x"], ["--=x", "--", "x"],
        ]
        for arguments in lines {
            XCTAssertNil(SandboxRunOptions(wellFormed: arguments), "\(arguments)")
        }
    }
}
