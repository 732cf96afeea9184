import GRDB
import XCTest
@testable import HearthEvents

final class SQLiteEventStoreTests: XCTestCase {
    /// An acknowledged event survives power loss: the connection that commits syncs the WAL at each
    /// commit (synchronous=FULL). GRDB's WAL setup sets NORMAL after the configuration's own pragmas, so
    /// this failed while the queue set FULL only there (strace showed no fdatasync per event).
    func testTheWriterSyncsEveryCommit() throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try store.writerSynchronousLevel(), 2, "PRAGMA synchronous on the writer: 2 is FULL")
    }

    /// Removing events that ran waits for the next sync (lost with the machine, they run again, as
    /// at-least-once allows); anything else is synced at its own commit, after such a removal too.
    func testOnlyRemovalsOfWhatRanWaitForTheNextSync() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let added = try await store.commit(QueueChange(add: [event("a", at: 1), event("a", at: 2)])).events
        XCTAssertEqual(try store.writerSynchronousLevel(), 2, "an add is synced")
        _ = try await store.commit(QueueChange(remove: [added[0].id]))
        XCTAssertEqual(try store.writerSynchronousLevel(), 1, "a removal alone is committed at NORMAL: the WAL is not synced for it")
        _ = try await store.commit(QueueChange(reschedule: [.init(id: added[1].id, notBefore: 9, attempts: 1, lastResponse: nil)]))
        XCTAssertEqual(try store.writerSynchronousLevel(), 2, "a retry's attempt count is synced")
        let queued = try await store.queuedEvents()
        XCTAssertEqual(queued.map(\.id), [added[1].id], "the removal was committed all the same")
        XCTAssertTrue(QueueChange(remove: [1]).mayWaitForTheNextSync)
        XCTAssertFalse(QueueChange(remove: [1], add: [event("b", at: 3)]).mayWaitForTheNextSync)
        XCTAssertFalse(QueueChange(remove: [1], fail: [FailedEvent(id: 0, requestId: "r", function: "a", qualifier: nil, payload: [],
                                                                   record: [], reason: "x", failedAt: 1)]).mayWaitForTheNextSync)
    }

    /// A removal handed over for later is gone for readers at once and on disk after a flush.
    func testARemovalForLaterIsGoneForReadersAndOnDiskAfterAFlush() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let added = try await store.commit(QueueChange(add: [event("a", at: 1), event("a", at: 2)])).events
        store.removeLater([added[0].id])
        let queued = try await store.queuedEvents()
        XCTAssertEqual(queued.map(\.id), [added[1].id])
        store.removeLater([added[1].id])
        try await store.flush()
        let reopened = try SQLiteEventStore(path: dir + "/events.db")
        let left = try await reopened.queuedEvents()
        XCTAssertEqual(left, [])
    }

    func testAddedEventsSurviveReopeningWithTheirPayloads() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let added = try await store.commit(QueueChange(add: [event("a", #"{"n":1}"#, at: 10), event("b", "[2]", at: 11, qualifier: "live")])).events
        XCTAssertEqual(added.map(\.function), ["a", "b"])
        XCTAssertLessThan(added[0].id, added[1].id)

        let reopened = try SQLiteEventStore(path: dir + "/events.db")
        let queued = try await reopened.queuedEvents()
        XCTAssertEqual(queued, added)
        let payload = try await reopened.payload(of: added[1].id)
        XCTAssertEqual(payload, Array("[2]".utf8))
        XCTAssertEqual(queued[1].qualifier, "live")
    }

    func testOneChangeReschedulesRemovesAddsAndKeepsFailuresTogether() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let added = try await store.commit(QueueChange(add: [event("a", at: 1), event("a", at: 2)])).events
        let response = AttemptResponse(executedVersion: "$LATEST", functionError: "Unhandled", payload: Array(#"{"errorMessage":"x"}"#.utf8))
        let failure = FailedEvent(id: 0, requestId: added[0].requestId, function: "a", qualifier: nil, payload: Array("{}".utf8),
                                  record: Array("{}".utf8), reason: "no destination", failedAt: 5)
        let more = try await store.commit(QueueChange(remove: [added[0].id],
                                                      reschedule: [.init(id: added[1].id, notBefore: 99, attempts: 1, lastResponse: response)],
                                                      add: [event("d", at: 5)], fail: [failure])).events
        let queued = try await store.queuedEvents()
        XCTAssertEqual(queued.map(\.id), [added[1].id, more[0].id])
        XCTAssertEqual(queued[0].notBefore, 99)
        XCTAssertEqual(queued[0].attempts, 1)
        XCTAssertEqual(queued[0].lastResponse, response)
        let failures = try await store.failures(function: "a")
        XCTAssertEqual(failures.map(\.reason), ["no destination"])
        let none = try await store.failures(function: "d")
        XCTAssertEqual(none, [])
        _ = try await store.commit(QueueChange(removeFailures: failures.map(\.id)))
        let after = try await store.failures(function: nil)
        XCTAssertEqual(after, [])
    }

    /// Commits from many callers at once are all written, each answered with its own events.
    func testConcurrentCommitsAreGroupedAndEachGetsItsOwnEvents() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for i in 0..<200 {
                group.addTask { try await store.commit(QueueChange(add: [event("f\(i % 7)", "\(i)", at: Double(i))])).events.map(\.id) }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        XCTAssertEqual(Set(ids).count, 200)
        let queued = try await store.queuedEvents()
        XCTAssertEqual(queued.count, 200)
        for e in queued.prefix(20) {
            let payload = try await store.payload(of: e.id)
            XCTAssertEqual(payload, Array("\(Int(e.enqueuedAt))".utf8))
        }
    }

    /// A round that fails part-way leaves nothing of itself behind, and the next round commits: the
    /// transaction was rolled back, not left open on the writer.
    func testARoundThatFailsHalfWayIsRolledBackWhole() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let other = try DatabaseQueue(path: dir + "/events.db")
        try await other.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_bad BEFORE INSERT ON events WHEN NEW.function = 'bad' BEGIN SELECT RAISE(ABORT, 'planted refusal'); END;
                """)
        }
        do {
            _ = try await store.commit(QueueChange(add: [event("good", at: 1), event("bad", at: 2)]))
            XCTFail("a round with a refused insert committed")
        } catch {
            XCTAssertTrue("\(error)".contains("planted refusal"), "\(error)")
        }
        let afterFailure = try await store.queuedEvents()
        XCTAssertEqual(afterFailure.map(\.function), [], "the event before the refused one was rolled back with it")
        let added = try await store.commit(QueueChange(add: [event("good", at: 3)])).events
        let queued = try await store.queuedEvents()
        XCTAssertEqual(queued, added, "the next round committed")
    }

    func testAFileThatIsNotADatabaseIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-events-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("not a database, not at all, really not".utf8).write(to: URL(fileURLWithPath: dir + "/events.db"))
        XCTAssertThrowsError(try SQLiteEventStore(path: dir + "/events.db")) { error in
            XCTAssertTrue("\(error)".contains("the event queue \(dir)/events.db cannot be used"), "\(error)")
        }
    }
}
