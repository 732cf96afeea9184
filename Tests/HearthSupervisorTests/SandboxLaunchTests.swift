import Foundation
import HearthRuntimeAPI
import HearthSandbox
import Synchronization
import XCTest
@testable import HearthSupervisor

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

    func testASandboxWithoutAListenerIsAbandonedAndItsOutputPipeClosed() async throws {
        let fake = FakeListeningSandbox(listener: nil)
        let before = openFds()
        do {
            _ = try await PreparedSandbox.launch { _ in fake }
            XCTFail("a sandbox without a listener cannot be served")
        } catch {
            XCTAssertTrue("\(error)".contains("no Runtime API listener"), "\(error)")
        }
        XCTAssertEqual(fake.abandonCount, 1)
        XCTAssertEqual(openFds(), before, "the output pipe must be closed")
    }

    func testAListenerThatCannotBeServedIsClosedOnceAndTheSandboxAbandoned() async throws {
        // Not a socket at all: the server cannot adopt it.
        var pipe: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&pipe), 0)
        defer { close(pipe[1]) }
        let fake = FakeListeningSandbox(listener: pipe[0])
        let before = openFds().subtracting(["\(pipe[0])"])
        do {
            _ = try await PreparedSandbox.launch { _ in fake }
            XCTFail("a pipe cannot be served as a listening socket")
        } catch {}
        XCTAssertEqual(fake.abandonCount, 1)
        XCTAssertEqual(openFds(), before, "the listener and the output pipe must be closed")
    }

    /// What the launch's cleanup relies on: NIO adopts a socket only once its channel exists, so one it
    /// refuses is still the caller's to close (closing it again later could hit a reused number).
    func testAServerThatCannotStartLeavesTheSocketToItsCaller() async throws {
        var pipe: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&pipe), 0)
        defer { close(pipe[1]) }
        do {
            _ = try await RuntimeAPIServer.serve(listeningSocket: pipe[0]).get()
            XCTFail("a pipe cannot be served as a listening socket")
        } catch {}
        XCTAssertGreaterThanOrEqual(fcntl(pipe[0], F_GETFD), 0, "a socket the server could not adopt stays open")
        close(pipe[0])
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
