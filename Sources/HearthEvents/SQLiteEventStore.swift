import Foundation
import GRDB

/// The queue in one SQLite file (WAL, synchronous=FULL): an acknowledged event is on disk. Writes that
/// arrive while one is being synced are committed together in the next transaction (group commit, on
/// the committer's own thread), so a burst of Invokes pays one fsync per batch, not one each; readers
/// never wait for a writer. A batch that only removes what ran (`QueueChange.mayWaitForTheNextSync`)
/// is committed without a sync of its own, so an event's outcome does not hold the next event's
/// acceptance behind a second fsync; the removal of an event that succeeded (`removeLater`) does not
/// even take a round of its own.
public final class SQLiteEventStore: EventStore, ScheduleStore, Sendable {
    public let path: String
    private let pool: DatabasePool
    private let committer: GroupCommitter<QueueChange, QueueCommit>

    /// - Parameter removalDelay: how long a removal given to `removeLater` waits for a round to ride with.
    public init(path: String, removalDelay: TimeInterval = 0.02) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let database: DatabasePool
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            // On the writer, after the pool's own WAL setup (which sets NORMAL, syncing only at
            // checkpoints): each commit syncs the WAL before an event is acknowledged.
            try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(database)
        } catch {
            throw EventStoreError("the event queue \(path) cannot be used: \(error)")
        }
        pool = database
        committer = GroupCommitter(name: "hearth-events", deferLimit: removalDelay) { batch in Self.commitRound(batch, pool: database, path: path) }
    }

    deinit { committer.stop() }

    /// The writer's PRAGMA synchronous (2 is FULL), for tests.
    func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: events and failures") { db in
            try db.execute(sql: """
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, function TEXT NOT NULL,
                                     qualifier TEXT, payload BLOB NOT NULL, enqueued_at REAL NOT NULL, not_before REAL NOT NULL,
                                     attempts INTEGER NOT NULL DEFAULT 0, last_response BLOB);
                CREATE TABLE failures (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, function TEXT NOT NULL,
                                       qualifier TEXT, payload BLOB NOT NULL, record BLOB NOT NULL, reason TEXT NOT NULL,
                                       failed_at REAL NOT NULL);
                CREATE INDEX failures_by_function ON failures (function, id);
                """)
        }
        migrator.registerMigration("2: deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, function TEXT NOT NULL, request_id TEXT NOT NULL,
                                         target TEXT NOT NULL, body BLOB NOT NULL, attributes BLOB NOT NULL, payload BLOB NOT NULL,
                                         attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL, last_error TEXT);
                """)
        }
        migrator.registerMigration("3: schedules") { db in
            try db.execute(sql: """
                CREATE TABLE schedule_groups (name TEXT PRIMARY KEY, creation_date REAL NOT NULL);
                CREATE TABLE schedules (group_name TEXT NOT NULL, name TEXT NOT NULL, record BLOB NOT NULL, next_fire REAL,
                                        PRIMARY KEY (group_name, name));
                """)
        }
        return migrator
    }

    public func commit(_ change: QueueChange) async throws -> QueueCommit {
        try await committer.submit(change)
    }

    /// With the next round (an accepted event's, as a rule), or on their own after 20 ms: an event that
    /// succeeded costs no round, sync or thread hand-off of its own.
    public func removeLater(_ ids: [Int64]) {
        committer.submitLater(QueueChange(remove: ids))
    }

    public func flush() async throws {
        if committer.hasDeferred { _ = try await committer.submit(QueueChange()) }
    }

    /// One round of the committer: whatever was waiting, in one transaction.
    private static func commitRound(_ batch: [QueueChange], pool: DatabasePool, path: String) -> Result<[QueueCommit], any Error> {
        do {
            // The level is set for each round (a statement of a microsecond), so a round that must be
            // synced is, whatever the one before it did.
            let synced = !batch.allSatisfy(\.mayWaitForTheNextSync)
            return .success(try pool.writeWithoutTransaction { db in
                try db.cachedStatement(sql: synced ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL").execute()
                // BEGIN and COMMIT prepared once, not parsed and authorized anew in every round as
                // `inTransaction` does: the round is on the path of every 202.
                try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                do {
                    let result = try batch.map { try apply($0, db) }
                    try db.cachedStatement(sql: "COMMIT").execute()
                    return result
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    throw error
                }
            })
        } catch {
            return .failure(EventStoreError("the event queue \(path) could not be written: \(error)"))
        }
    }

    private static func apply(_ change: QueueChange, _ db: Database) throws -> QueueCommit {
        var result = QueueCommit()
        // The statements of every event (its insert, its removal) are prepared once per connection.
        for id in change.remove { try db.cachedStatement(sql: "DELETE FROM events WHERE id = ?").execute(arguments: [id]) }
        for id in change.removeDeliveries { try db.execute(sql: "DELETE FROM deliveries WHERE id = ?", arguments: [id]) }
        for d in change.rescheduleDeliveries {
            try db.execute(sql: "UPDATE deliveries SET attempts = ?, not_before = ?, last_error = ? WHERE id = ?",
                           arguments: [d.attempts, d.notBefore, d.lastError, d.id])
        }
        for d in change.deliver {
            try db.execute(sql: """
                INSERT INTO deliveries (function, request_id, target, body, attributes, payload, not_before) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [d.function, d.requestId, d.target, Data(d.body), try JSONEncoder().encode(d.attributes), Data(d.payload), d.notBefore])
            var stored = d
            stored.id = db.lastInsertedRowID
            result.deliveries.append(stored)
        }
        for id in change.removeFailures { try db.execute(sql: "DELETE FROM failures WHERE id = ?", arguments: [id]) }
        for r in change.reschedule {
            try db.execute(sql: "UPDATE events SET not_before = ?, attempts = ?, last_response = ? WHERE id = ?",
                           arguments: [r.notBefore, r.attempts, try r.lastResponse.map(encode), r.id])
        }
        for a in change.advanceSchedules {
            try db.execute(sql: "UPDATE schedules SET next_fire = ? WHERE group_name = ? AND name = ?",
                           arguments: [a.nextFire, a.key.group, a.key.name])
        }
        for key in change.deleteSchedules {
            try db.execute(sql: "DELETE FROM schedules WHERE group_name = ? AND name = ?", arguments: [key.group, key.name])
        }
        for f in change.fail {
            try db.execute(sql: """
                INSERT INTO failures (request_id, function, qualifier, payload, record, reason, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [f.requestId, f.function, f.qualifier, Data(f.payload), Data(f.record), f.reason, f.failedAt])
        }
        result.events = try change.add.map { e in
            try db.cachedStatement(sql: """
                INSERT INTO events (request_id, function, qualifier, payload, enqueued_at, not_before) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [e.requestId, e.function, e.qualifier, Data(e.payload), e.enqueuedAt, e.enqueuedAt])
            return QueuedEvent(id: db.lastInsertedRowID, requestId: e.requestId, function: e.function, qualifier: e.qualifier,
                               enqueuedAt: e.enqueuedAt, notBefore: e.enqueuedAt)
        }
        return result
    }

    public func schedules() async throws -> [(record: ScheduleRecord, nextFire: Double?)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT record, next_fire FROM schedules ORDER BY group_name, name").map { row in
                let record: Data = row["record"]
                return (try JSONDecoder().decode(ScheduleRecord.self, from: record), row["next_fire"])
            }
        }
    }

    public func putSchedule(_ record: ScheduleRecord, nextFire: Double?, create: Bool) async throws -> Bool {
        let data = try JSONEncoder().encode(record)
        return try await pool.write { db in
            let exists = try Int.fetchOne(db, sql: "SELECT 1 FROM schedules WHERE group_name = ? AND name = ?",
                                          arguments: [record.groupName, record.name]) != nil
            guard exists != create else { return false }
            try db.execute(sql: "INSERT OR REPLACE INTO schedules (group_name, name, record, next_fire) VALUES (?, ?, ?, ?)",
                           arguments: [record.groupName, record.name, data, nextFire])
            return true
        }
    }

    public func deleteSchedule(_ key: ScheduleKey) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM schedules WHERE group_name = ? AND name = ?", arguments: [key.group, key.name])
            return db.changesCount > 0
        }
    }

    public func groups() async throws -> [(name: String, creationDate: Double)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, creation_date FROM schedule_groups ORDER BY name").map { ($0["name"], $0["creation_date"]) }
        }
    }

    public func createGroup(_ name: String, creationDate: Double) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO schedule_groups (name, creation_date) VALUES (?, ?)", arguments: [name, creationDate])
            return db.changesCount > 0
        }
    }

    public func deleteGroup(_ name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM schedule_groups WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM schedules WHERE group_name = ?", arguments: [name])
            return true
        }
    }

    public func pendingDeliveries() async throws -> [Delivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM deliveries ORDER BY id").map { row in
                let body: Data = row["body"], attributes: Data = row["attributes"], payload: Data = row["payload"]
                return Delivery(id: row["id"], function: row["function"], requestId: row["request_id"], target: row["target"], body: [UInt8](body),
                                attributes: try JSONDecoder().decode([MessageAttribute].self, from: attributes), payload: [UInt8](payload),
                                attempts: row["attempts"], notBefore: row["not_before"], lastError: row["last_error"])
            }
        }
    }

    public func queuedEvents() async throws -> [QueuedEvent] {
        try await flush()
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, request_id, function, qualifier, enqueued_at, not_before, attempts, last_response FROM events ORDER BY id
                """).map { row in
                let last: Data? = row["last_response"]
                return QueuedEvent(id: row["id"], requestId: row["request_id"], function: row["function"], qualifier: row["qualifier"],
                                   enqueuedAt: row["enqueued_at"], notBefore: row["not_before"], attempts: row["attempts"],
                                   lastResponse: try last.map { try JSONDecoder().decode(AttemptResponse.self, from: $0) })
            }
        }
    }

    public func payload(of id: Int64) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT payload FROM events WHERE id = ?", arguments: [id]).map { [UInt8]($0) }
        }
    }

    public func failures(function: String?) async throws -> [FailedEvent] {
        try await pool.read { db in
            let rows = if let function {
                try Row.fetchAll(db, sql: "SELECT * FROM failures WHERE function = ? ORDER BY id", arguments: [function])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM failures ORDER BY id")
            }
            return rows.map { row in
                let payload: Data = row["payload"], record: Data = row["record"]
                return FailedEvent(id: row["id"], requestId: row["request_id"], function: row["function"], qualifier: row["qualifier"],
                                   payload: [UInt8](payload), record: [UInt8](record), reason: row["reason"], failedAt: row["failed_at"])
            }
        }
    }

    private static func encode(_ response: AttemptResponse) throws -> Data { try JSONEncoder().encode(response) }
}

public struct EventStoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
