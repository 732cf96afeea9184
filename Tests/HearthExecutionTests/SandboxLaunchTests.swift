import Foundation
import HearthRuntimeAPI
import HearthSandbox
import Synchronization
import XCTest
@testable import HearthExecution

/// A stand-in for a started sandbox: only what `PreparedSandbox.launch` uses of one.
private final class FakeListeningSandbox: ListeningSandbox, @unchecked Sendable {
    let listener: Int32?
    private let abandoned = Mutex(0)
    var abandonCount: Int { abandoned.withLock { $0 } }
    init(listener: Int32?) { self.listener = listener }
    func abandon() { abandoned.withLock { $0 += 1 } }
}

/// Serving a started sandbox's Runtime API, and ending the sandbox when that cannot be done.
final class SandboxLaunchTests: XCTestCase {
    override func setUp() {
        // The event loops make their own fds when first used; make them before any count.
        _ = try? RuntimeAPIServer.group.next().submit {}.wait()
    }

    /// Open descriptors, found without opening one (a directory listing would count its own).
    private func openFds() -> Set<String> {
        Set((0..<4096).filter { fcntl(Int32($0), F_GETFD) >= 0 }.map(String.init))
    }

    /// The open descriptors are those of `before`; a failure names where each differing one points.
    private func assertNoNewFds(since before: Set<String>, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let after = openFds()
        let differing = after.symmetricDifference(before).sorted().map { fd in
            var buffer = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/self/fd/" + fd, &buffer, 255)
            return fd + " -> " + (n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "closed")
        }
        XCTAssertEqual(after, before, message + ": " + differing.joined(separator: ", "), file: file, line: line)
    }

    /// A pipe: its read end is an fd no server can adopt as a listening socket.
    private func notASocket() -> (read: Int32, write: Int32) {
        var pipe: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&pipe), 0)
        return (pipe[0], pipe[1])
    }

    /// The error `PreparedSandbox.launch` ends with when its start returns `fake`.
    private func launchError(_ fake: FakeListeningSandbox) async -> Error? {
        do {
            _ = try await PreparedSandbox.launch { _ in fake }
            XCTFail("a sandbox whose listener cannot be served must not launch")
            return nil
        } catch {
            return error
        }
    }

    func testASandboxWithoutAListenerIsAbandonedAndItsOutputPipeClosed() async throws {
        let fake = FakeListeningSandbox(listener: nil)
        let before = openFds()
        let message = await launchError(fake).map { "\($0)" } ?? ""
        XCTAssertTrue(message.contains("no Runtime API listener"), message)
        XCTAssertEqual(fake.abandonCount, 1)
        assertNoNewFds(since: before, "the output pipe must be closed")
    }

    func testAListenerThatCannotBeServedIsClosedOnceAndTheSandboxAbandoned() async throws {
        let pipe = notASocket()
        defer { close(pipe.write) }
        let fake = FakeListeningSandbox(listener: pipe.read)
        let before = openFds().subtracting(["\(pipe.read)"])
        let error = await launchError(fake)
        XCTAssertNotNil(error)
        XCTAssertEqual(fake.abandonCount, 1)
        assertNoNewFds(since: before, "the listener and the output pipe must be closed")
    }

    /// What the launch's cleanup relies on: NIO adopts a socket only once its channel exists, so one it
    /// refuses is still the caller's to close (closing it again later could hit a reused number).
    func testAServerThatCannotStartLeavesTheSocketToItsCaller() async throws {
        let pipe = notASocket()
        defer { close(pipe.write) }
        do {
            _ = try await RuntimeAPIServer.serve(listeningSocket: pipe.read).get()
            XCTFail("a pipe cannot be served as a listening socket")
        } catch {}
        XCTAssertGreaterThanOrEqual(fcntl(pipe.read, F_GETFD), 0, "a socket the server could not adopt stays open")
        close(pipe.read)
    }

    func testAStartThatThrowsLeavesNoPipeBehind() async throws {
        struct StartFailed: Error {}
        let before = openFds()
        do {
            _ = try await PreparedSandbox.launch { _ -> FakeListeningSandbox in throw StartFailed() }
            XCTFail("the start's error must come through")
        } catch is StartFailed {}
        XCTAssertEqual(openFds(), before)
    }
}
