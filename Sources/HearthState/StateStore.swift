import Foundation
import GRDB

/// Hearth's state in one SQLite file (through GRDB: WAL, synchronous=FULL): functions with their
/// $LATEST and published versions, aliases, concurrency settings, layers, tags and event invoke
/// configurations. Every change is one transaction, so a crash leaves the state before or after it,
/// never between. Readers do not wait for a writer's sync.
public final class StateStore: @unchecked Sendable {
    public let path: String
    private let pool: DatabasePool
    private let lock = NSLock()
    private var writes = 0

    /// The schema is numbered by `PRAGMA user_version`, as Hearth's first stores wrote it; each step runs in order on open.
    static let schemaVersion = 6

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // synchronous=FULL on the writer, after the pool's own WAL setup (which sets NORMAL): a
            // committed change survives power loss, not only a crash.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try pool.write { db in try Self.migrate(db, path: path) }
        } catch let error as StateError {
            throw StateError(message: "the state database \(path) cannot be used: \(error.message)")
        } catch {
            throw StateError(message: "the state database \(path) cannot be used: \(Self.describe(error))")
        }
    }
    /// The writer's PRAGMA synchronous (2 is FULL), for tests.
    func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }


    private static func migrate(_ db: Database, path: String) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if version > schemaVersion {
            throw StateError(message: "\(path) was written by a newer Hearth (schema \(version); this one knows \(schemaVersion))")
        }
        if version < 1 {
            try db.execute(sql: """
                CREATE TABLE functions (name TEXT PRIMARY KEY, latest TEXT NOT NULL, reserved INTEGER,
                                        next_version INTEGER NOT NULL DEFAULT 1);
                CREATE TABLE versions (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                       version INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, version));
                CREATE TABLE aliases (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                      alias TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, alias));
                CREATE TABLE provisioned (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                          qualifier TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, qualifier));
                CREATE TABLE layers (name TEXT NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, version));
                CREATE TABLE layer_names (name TEXT PRIMARY KEY, next_version INTEGER NOT NULL);
                """)
        }
        if version < 2 {
            // 2: tags, per function (Lambda tags functions, never versions or aliases).
            try db.execute(sql: """
                CREATE TABLE tags (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                   key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key));
                """)
        }
        if version < 3 {
            // 3: event invoke configurations, per function and qualifier ($LATEST, a version or an alias).
            try db.execute(sql: """
                CREATE TABLE event_invoke_configs (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                                   qualifier TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (name, qualifier));
                """)
        }
        if version < 4 {
            // 4: function URLs, one per function ('' qualifier) or alias, found by id from the URL listener.
            try db.execute(sql: """
                CREATE TABLE function_urls (url_id TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                            qualifier TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (name, qualifier));
                """)
        }
        if version < 5 {
            // 5: resource-based policies (AddPermission), per function ('' qualifier), version or alias: the statements as JSON.
            try db.execute(sql: """
                CREATE TABLE policies (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE, qualifier TEXT NOT NULL,
                                       statements TEXT NOT NULL, revision_id TEXT NOT NULL, PRIMARY KEY (name, qualifier));
                """)
        }
        if version < 6 {
            // 6: layer versions' policies (AddLayerVersionPermission), a function's recursion setting, and runtime
            // management configurations per function ('' qualifier) or version.
            try db.execute(sql: """
                CREATE TABLE layer_policies (name TEXT NOT NULL, version INTEGER NOT NULL, statements TEXT NOT NULL,
                                             revision_id TEXT NOT NULL, PRIMARY KEY (name, version));
                ALTER TABLE functions ADD COLUMN recursive_loop TEXT;
                CREATE TABLE runtime_management (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE, qualifier TEXT NOT NULL,
                                                 record TEXT NOT NULL, PRIMARY KEY (name, qualifier));
                """)
        }
        if version < schemaVersion { try db.execute(sql: "PRAGMA user_version = \(schemaVersion)") }
    }

    /// SQLite's own words for a failure (GRDB's description adds the statement and its arguments).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return "SQLite: \(error.message ?? "\(error.resultCode)")" }
        return "\(error)"
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let error as StateError { throw error } catch {
            throw StateError(message: "\(path): \(Self.describe(error))")
        }
    }

    /// One transaction, counted in `generation`.
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        defer { lock.withLock { writes += 1 } }
        do { return try pool.write(body) } catch let error as StateError { throw error } catch {
            throw StateError(message: "\(path): \(Self.describe(error))")
        }
    }

    /// Counts changes: anything read from the store stays valid while this stays the same.
    public var generation: Int { lock.withLock { writes } }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    private func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try Self.encoder.encode(value), as: UTF8.self)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T {
        guard let text else { throw StateError(message: "\(path): a stored \(T.self) is missing") }
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    private func exists(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> Bool {
        try Int.fetchOne(db, sql: sql, arguments: arguments) != nil
    }

    // MARK: functions

    /// Adds a function; false when one of that name exists.
    public func createFunction(_ latest: FunctionRecord) throws -> Bool {
        let record = try json(latest)
        return try write { db in
            if try exists(db, "SELECT 1 FROM functions WHERE name = ?", [latest.name]) { return false }
            try db.execute(sql: "INSERT INTO functions (name, latest) VALUES (?, ?)", arguments: [latest.name, record])
            return true
        }
    }

    public func function(_ name: String) throws -> FunctionRecord? {
        try read { db in try String.fetchOne(db, sql: "SELECT latest FROM functions WHERE name = ?", arguments: [name]) }
            .map { try decode(FunctionRecord.self, $0) }
    }

    /// Functions in name order after `marker`, at most `limit`.
    public func listFunctions(after marker: String?, limit: Int) throws -> [FunctionRecord] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT latest FROM functions WHERE name > ? ORDER BY name LIMIT ?", arguments: [marker ?? "", limit])
        }.map { try decode(FunctionRecord.self, $0) }
    }

    public func functionCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM functions") ?? 0 }
    }

    /// Replaces $LATEST; false when the function is gone.
    public func updateLatest(_ latest: FunctionRecord) throws -> Bool {
        let record = try json(latest)
        return try write { db in
            try db.execute(sql: "UPDATE functions SET latest = ? WHERE name = ?", arguments: [record, latest.name])
            return db.changesCount > 0
        }
    }

    /// Removes a function with its versions, aliases and settings; false when it did not exist.
    public func deleteFunction(_ name: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM functions WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    // MARK: versions

    /// Publishes $LATEST as the next version, or returns the newest version when nothing changed since.
    public func publishVersion(_ name: String, description: String?, lastModified: String, revisionId: String) throws -> FunctionRecord? {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT latest, next_version FROM functions WHERE name = ?", arguments: [name]) else {
                return nil
            }
            let latest = try decode(FunctionRecord.self, row["latest"])
            if let newest = try String.fetchOne(db, sql: "SELECT record FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1",
                                                arguments: [name]) {
                let published = try decode(FunctionRecord.self, newest)
                if published.sameContent(as: latest) { return published }
            }
            let number: Int = row["next_version"]
            var version = latest
            version.version = String(number)
            if let description { version.description = description }
            version.lastModified = lastModified
            version.revisionId = revisionId
            try db.execute(sql: "INSERT INTO versions (name, version, record) VALUES (?, ?, ?)", arguments: [name, number, try json(version)])
            try db.execute(sql: "UPDATE functions SET next_version = ? WHERE name = ?", arguments: [number + 1, name])
            return version
        }
    }

    public func version(_ name: String, _ number: Int) throws -> FunctionRecord? {
        try read { db in try String.fetchOne(db, sql: "SELECT record FROM versions WHERE name = ? AND version = ?", arguments: [name, number]) }
            .map { try decode(FunctionRecord.self, $0) }
    }

    public func versions(_ name: String) throws -> [FunctionRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT record FROM versions WHERE name = ? ORDER BY version", arguments: [name]) }
            .map { try decode(FunctionRecord.self, $0) }
    }

    /// Removes one published version with its event invoke configuration and policy; false when it did not exist.
    public func deleteVersion(_ name: String, _ number: Int) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM versions WHERE name = ? AND version = ?", arguments: [name, number])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM event_invoke_configs WHERE name = ? AND qualifier = ?", arguments: [name, String(number)])
            try db.execute(sql: "DELETE FROM policies WHERE name = ? AND qualifier = ?", arguments: [name, String(number)])
            try db.execute(sql: "DELETE FROM runtime_management WHERE name = ? AND qualifier = ?", arguments: [name, String(number)])
            return true
        }
    }

    // MARK: aliases

    /// Stores an alias; with `create`, false when it exists already; without, false when it does not.
    public func putAlias(_ function: String, _ alias: AliasRecord, create: Bool) throws -> Bool {
        let record = try json(alias)
        return try write { db in
            let found = try exists(db, "SELECT 1 FROM aliases WHERE name = ? AND alias = ?", [function, alias.name])
            if found == create { return false }
            try db.execute(sql: "INSERT OR REPLACE INTO aliases (name, alias, record) VALUES (?, ?, ?)", arguments: [function, alias.name, record])
            return true
        }
    }

    public func alias(_ function: String, _ name: String) throws -> AliasRecord? {
        try read { db in try String.fetchOne(db, sql: "SELECT record FROM aliases WHERE name = ? AND alias = ?", arguments: [function, name]) }
            .map { try decode(AliasRecord.self, $0) }
    }

    public func aliases(_ function: String) throws -> [AliasRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT record FROM aliases WHERE name = ? ORDER BY alias", arguments: [function]) }
            .map { try decode(AliasRecord.self, $0) }
    }

    /// Removes an alias with its event invoke configuration and policy.
    public func deleteAlias(_ function: String, _ name: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM aliases WHERE name = ? AND alias = ?", arguments: [function, name])
            try db.execute(sql: "DELETE FROM event_invoke_configs WHERE name = ? AND qualifier = ?", arguments: [function, name])
            try db.execute(sql: "DELETE FROM policies WHERE name = ? AND qualifier = ?", arguments: [function, name])
        }
    }

    // MARK: tags

    public func tags(_ function: String) throws -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM tags WHERE name = ?", arguments: [function]) {
                out[row["key"]] = row["value"]
            }
            return out
        }
    }

    /// Adds or replaces `tags`, unless the function would then have more than `limit`: nothing is changed
    /// and false is returned.
    public func tag(_ function: String, _ tags: [String: String], limit: Int) throws -> Bool {
        try write { db in
            let existing = Set(try String.fetchAll(db, sql: "SELECT key FROM tags WHERE name = ?", arguments: [function]))
            guard existing.union(tags.keys).count <= limit else { return false }
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "INSERT OR REPLACE INTO tags (name, key, value) VALUES (?, ?, ?)", arguments: [function, key, value])
            }
            return true
        }
    }

    public func untag(_ function: String, _ keys: [String]) throws {
        try write { db in
            for key in keys { try db.execute(sql: "DELETE FROM tags WHERE name = ? AND key = ?", arguments: [function, key]) }
        }
    }

    // MARK: concurrency

    public func setReservedConcurrency(_ function: String, _ value: Int?) throws {
        try write { db in try db.execute(sql: "UPDATE functions SET reserved = ? WHERE name = ?", arguments: [value, function]) }
    }

    public func reservedConcurrency(_ function: String) throws -> Int? {
        try read { db in try Int?.fetchOne(db, sql: "SELECT reserved FROM functions WHERE name = ?", arguments: [function]) ?? nil }
    }

    /// Every function's reserved concurrency, for the account-wide checks.
    public func allReservedConcurrency() throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, reserved FROM functions WHERE reserved IS NOT NULL") {
                out[row["name"]] = row["reserved"]
            }
            return out
        }
    }

    public func setProvisioned(_ function: String, _ record: ProvisionedConcurrencyRecord) throws {
        let text = try json(record)
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO provisioned (name, qualifier, record) VALUES (?, ?, ?)",
                           arguments: [function, record.qualifier, text])
        }
    }

    public func provisioned(_ function: String, _ qualifier: String) throws -> ProvisionedConcurrencyRecord? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT record FROM provisioned WHERE name = ? AND qualifier = ?", arguments: [function, qualifier])
        }.map { try decode(ProvisionedConcurrencyRecord.self, $0) }
    }

    /// Every provisioned-concurrency setting, by function.
    public func allProvisioned() throws -> [(function: String, record: ProvisionedConcurrencyRecord)] {
        try read { db in try Row.fetchAll(db, sql: "SELECT name, record FROM provisioned ORDER BY name, qualifier") }
            .map { (($0["name"] as String?) ?? "", try decode(ProvisionedConcurrencyRecord.self, $0["record"])) }
    }

    public func deleteProvisioned(_ function: String, _ qualifier: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM provisioned WHERE name = ? AND qualifier = ?", arguments: [function, qualifier])
            return db.changesCount > 0
        }
    }

    // MARK: event invoke configurations

    public func putEventInvokeConfig(_ function: String, _ record: EventInvokeConfigRecord) throws {
        let text = try json(record)
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO event_invoke_configs (name, qualifier, record) VALUES (?, ?, ?)",
                           arguments: [function, record.qualifier, text])
        }
    }

    public func eventInvokeConfig(_ function: String, _ qualifier: String) throws -> EventInvokeConfigRecord? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT record FROM event_invoke_configs WHERE name = ? AND qualifier = ?", arguments: [function, qualifier])
        }.map { try decode(EventInvokeConfigRecord.self, $0) }
    }

    public func eventInvokeConfigs(_ function: String) throws -> [EventInvokeConfigRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT record FROM event_invoke_configs WHERE name = ?", arguments: [function]) }
            .map { try decode(EventInvokeConfigRecord.self, $0) }
    }

    public func deleteEventInvokeConfig(_ function: String, _ qualifier: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM event_invoke_configs WHERE name = ? AND qualifier = ?", arguments: [function, qualifier])
            return db.changesCount > 0
        }
    }

    // MARK: function URLs

    /// Adds a URL; false when the function already has one at that qualifier.
    public func createFunctionUrl(_ function: String, _ record: FunctionUrlRecord) throws -> Bool {
        let text = try json(record)
        return try write { db in
            if try exists(db, "SELECT 1 FROM function_urls WHERE name = ? AND qualifier = ?", [function, record.qualifier ?? ""]) { return false }
            try db.execute(sql: "INSERT INTO function_urls (url_id, name, qualifier, record) VALUES (?, ?, ?, ?)",
                           arguments: [record.urlId, function, record.qualifier ?? "", text])
            return true
        }
    }

    /// Replaces an existing URL's settings (its id stays); false when there is none.
    public func updateFunctionUrl(_ function: String, _ record: FunctionUrlRecord) throws -> Bool {
        let text = try json(record)
        return try write { db in
            try db.execute(sql: "UPDATE function_urls SET record = ? WHERE name = ? AND qualifier = ?",
                           arguments: [text, function, record.qualifier ?? ""])
            return db.changesCount > 0
        }
    }

    public func functionUrl(_ function: String, qualifier: String?) throws -> FunctionUrlRecord? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT record FROM function_urls WHERE name = ? AND qualifier = ?", arguments: [function, qualifier ?? ""])
        }.map { try decode(FunctionUrlRecord.self, $0) }
    }

    /// The function's URLs, the unqualified one first, then by alias.
    public func functionUrls(_ function: String) throws -> [FunctionUrlRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT record FROM function_urls WHERE name = ? ORDER BY qualifier", arguments: [function]) }
            .map { try decode(FunctionUrlRecord.self, $0) }
    }

    /// Every URL with its function, for the URL listener's table.
    public func allFunctionUrls() throws -> [(function: String, record: FunctionUrlRecord)] {
        try read { db in try Row.fetchAll(db, sql: "SELECT name, record FROM function_urls") }
            .map { (($0["name"] as String?) ?? "", try decode(FunctionUrlRecord.self, $0["record"])) }
    }

    public func deleteFunctionUrl(_ function: String, qualifier: String?) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM function_urls WHERE name = ? AND qualifier = ?", arguments: [function, qualifier ?? ""])
            return db.changesCount > 0
        }
    }

    // MARK: resource policies

    /// A policy's statements (each a JSON object's text) and revision; nil when it has none.
    public func policy(_ function: String, qualifier: String?) throws -> (statements: [String], revisionId: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT statements, revision_id FROM policies WHERE name = ? AND qualifier = ?",
                             arguments: [function, qualifier ?? ""])
        }.map { (try decode([String].self, $0["statements"]), ($0["revision_id"] as String?) ?? "") }
    }

    /// Replaces a policy's statements when its revision is still `expected` (nil: there is no policy yet); an
    /// empty list removes the policy. False when another change came first.
    public func setPolicy(_ function: String, qualifier: String?, statements: [String], expected: String?, revisionId: String) throws -> Bool {
        let text = try json(statements)
        return try write { db in
            let current = try String.fetchOne(db, sql: "SELECT revision_id FROM policies WHERE name = ? AND qualifier = ?",
                                              arguments: [function, qualifier ?? ""])
            if current != expected { return false }
            if statements.isEmpty {
                try db.execute(sql: "DELETE FROM policies WHERE name = ? AND qualifier = ?", arguments: [function, qualifier ?? ""])
            } else {
                try db.execute(sql: "INSERT OR REPLACE INTO policies (name, qualifier, statements, revision_id) VALUES (?, ?, ?, ?)",
                               arguments: [function, qualifier ?? "", text, revisionId])
            }
            return true
        }
    }

    /// A layer version's policy: its statements (each a JSON object's text) and revision; nil when it has none.
    public func layerPolicy(_ layer: String, version: Int) throws -> (statements: [String], revisionId: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT statements, revision_id FROM layer_policies WHERE name = ? AND version = ?",
                             arguments: [layer, version])
        }.map { (try decode([String].self, $0["statements"]), ($0["revision_id"] as String?) ?? "") }
    }

    /// As `setPolicy`, for a layer version (which must still exist).
    public func setLayerPolicy(_ layer: String, version: Int, statements: [String], expected: String?, revisionId: String) throws -> Bool {
        let text = try json(statements)
        return try write { db in
            guard try exists(db, "SELECT 1 FROM layers WHERE name = ? AND version = ?", [layer, version]) else { return false }
            let current = try String.fetchOne(db, sql: "SELECT revision_id FROM layer_policies WHERE name = ? AND version = ?",
                                              arguments: [layer, version])
            if current != expected { return false }
            if statements.isEmpty {
                try db.execute(sql: "DELETE FROM layer_policies WHERE name = ? AND version = ?", arguments: [layer, version])
            } else {
                try db.execute(sql: "INSERT OR REPLACE INTO layer_policies (name, version, statements, revision_id) VALUES (?, ?, ?, ?)",
                               arguments: [layer, version, text, revisionId])
            }
            return true
        }
    }

    // MARK: recursion and runtime management

    /// A function's RecursiveLoop as set (nil: never set); nil too when the function does not exist.
    public func recursiveLoop(_ function: String) throws -> String?? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT recursive_loop FROM functions WHERE name = ?", arguments: [function])
        }.map { $0["recursive_loop"] as String? }
    }

    /// False when the function does not exist.
    public func setRecursiveLoop(_ function: String, _ value: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE functions SET recursive_loop = ? WHERE name = ?", arguments: [value, function])
            return db.changesCount > 0
        }
    }

    public func runtimeManagement(_ function: String, qualifier: String?) throws -> RuntimeManagementRecord? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT record FROM runtime_management WHERE name = ? AND qualifier = ?",
                                arguments: [function, qualifier ?? ""])
        }.map { try decode(RuntimeManagementRecord.self, $0) }
    }

    /// False when the function does not exist.
    public func setRuntimeManagement(_ function: String, qualifier: String?, _ record: RuntimeManagementRecord) throws -> Bool {
        let text = try json(record)
        return try write { db in
            guard try exists(db, "SELECT 1 FROM functions WHERE name = ?", [function]) else { return false }
            try db.execute(sql: "INSERT OR REPLACE INTO runtime_management (name, qualifier, record) VALUES (?, ?, ?)",
                           arguments: [function, qualifier ?? "", text])
            return true
        }
    }

    // MARK: layers

    /// Adds the next version of a layer (numbers are never reused, as in Lambda).
    public func publishLayerVersion(_ make: (Int) -> LayerVersionRecord) throws -> LayerVersionRecord {
        try write { db in
            let probe = make(0)
            let next = try Int.fetchOne(db, sql: "SELECT next_version FROM layer_names WHERE name = ?", arguments: [probe.name]) ?? 1
            let record = make(next)
            try db.execute(sql: "INSERT OR REPLACE INTO layer_names (name, next_version) VALUES (?, ?)", arguments: [record.name, next + 1])
            try db.execute(sql: "INSERT INTO layers (name, version, record) VALUES (?, ?, ?)", arguments: [record.name, next, try json(record)])
            return record
        }
    }

    public func layerVersion(_ name: String, _ version: Int) throws -> LayerVersionRecord? {
        try read { db in try String.fetchOne(db, sql: "SELECT record FROM layers WHERE name = ? AND version = ?", arguments: [name, version]) }
            .map { try decode(LayerVersionRecord.self, $0) }
    }

    public func layerVersions(_ name: String) throws -> [LayerVersionRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT record FROM layers WHERE name = ? ORDER BY version DESC", arguments: [name]) }
            .map { try decode(LayerVersionRecord.self, $0) }
    }

    /// The newest version of every layer.
    public func latestLayers() throws -> [LayerVersionRecord] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT record FROM layers l WHERE version = (SELECT max(version) FROM layers WHERE name = l.name) ORDER BY name")
        }.map { try decode(LayerVersionRecord.self, $0) }
    }

    public func deleteLayerVersion(_ name: String, _ version: Int) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM layers WHERE name = ? AND version = ?", arguments: [name, version])
            try db.execute(sql: "DELETE FROM layer_policies WHERE name = ? AND version = ?", arguments: [name, version])
        }
    }

    /// Every zip digest some function version or layer still uses (for garbage collection of stored zips).
    public func referencedZipDigests() throws -> Set<String> {
        let (functions, layers) = try read { db in
            (try String.fetchAll(db, sql: "SELECT latest FROM functions UNION ALL SELECT record FROM versions"),
             try String.fetchAll(db, sql: "SELECT record FROM layers"))
        }
        var out = Set<String>()
        for r in try functions.map({ try decode(FunctionRecord.self, $0) }) {
            if let z = r.zipDigest { out.insert(z) }
            for l in r.layers { out.insert(l.zipDigest) }
        }
        for layer in try layers.map({ try decode(LayerVersionRecord.self, $0) }) { out.insert(layer.zipDigest) }
        return out
    }
}

/// A failed state store call, with SQLite's own message.
public struct StateError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
