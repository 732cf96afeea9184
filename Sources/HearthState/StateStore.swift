import Foundation

/// Hearth's state in one SQLite file: functions with their $LATEST and
/// published versions, aliases, concurrency settings and layers. Every change
/// is one transaction, so a crash leaves the state before or after it, never
/// between. Safe to share: calls are serialised.
public final class StateStore: @unchecked Sendable {
    public let path: String
    private let db: SQLiteDatabase
    private let lock = NSLock()
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    private let decoder = JSONDecoder()
    private var writes = 0

    static let schemaVersion: Int64 = 2

    public init(path: String) throws {
        self.path = path
        do {
            db = try SQLiteDatabase(path: path)
            try migrate()
        } catch let error as StateError {
            throw StateError(message: "the state database \(path) cannot be used: \(error.message)")
        }
    }

    private func migrate() throws {
        let version = try db.query("PRAGMA user_version").first?.first?.integer ?? 0
        if version > Self.schemaVersion {
            throw StateError(message: "\(path) was written by a newer Hearth (schema \(version); this one knows \(Self.schemaVersion))")
        }
        if version < 1 { try createTables() }
        if version < 2 {
            // 2: tags, per function (Lambda tags functions, never versions or aliases).
            try db.transaction {
                try db.execute("""
                    CREATE TABLE tags (name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                                       key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key));
                    PRAGMA user_version = 2;
                    """)
            }
        }
    }

    private func createTables() throws {
        try db.transaction {
            try db.execute("""
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
                PRAGMA user_version = 1;
                """)
        }
    }

    private func sync<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// As `sync`, for a change: counted in `generation`.
    private func writing<T>(_ body: () throws -> T) rethrows -> T {
        try sync {
            defer { writes += 1 }
            return try body()
        }
    }

    /// Counts changes: anything read from the store stays valid while this stays the same.
    public var generation: Int { sync { writes } }

    private func json<T: Encodable>(_ value: T) throws -> SQLiteValue {
        .text(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: SQLiteValue?) throws -> T {
        guard let text = value?.text else { throw StateError(message: "\(path): a stored \(T.self) is missing") }
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    // MARK: functions

    /// Adds a function; false when one of that name exists.
    public func createFunction(_ latest: FunctionRecord) throws -> Bool {
        try writing {
            try db.transaction {
                if try !db.query("SELECT 1 FROM functions WHERE name = ?", [.text(latest.name)]).isEmpty { return false }
                try db.query("INSERT INTO functions (name, latest) VALUES (?, ?)", [.text(latest.name), try json(latest)])
                return true
            }
        }
    }

    public func function(_ name: String) throws -> FunctionRecord? {
        try sync {
            try db.query("SELECT latest FROM functions WHERE name = ?", [.text(name)]).first.map { try decode(FunctionRecord.self, $0[0]) }
        }
    }

    /// Functions in name order after `marker`, at most `limit`.
    public func listFunctions(after marker: String?, limit: Int) throws -> [FunctionRecord] {
        try sync {
            try db.query("SELECT latest FROM functions WHERE name > ? ORDER BY name LIMIT ?", [.text(marker ?? ""), .integer(Int64(limit))])
                .map { try decode(FunctionRecord.self, $0[0]) }
        }
    }

    public func functionCount() throws -> Int {
        try sync { Int(try db.query("SELECT count(*) FROM functions").first?.first?.integer ?? 0) }
    }

    /// Replaces $LATEST; false when the function is gone.
    public func updateLatest(_ latest: FunctionRecord) throws -> Bool {
        try writing {
            try db.transaction {
                if try db.query("SELECT 1 FROM functions WHERE name = ?", [.text(latest.name)]).isEmpty { return false }
                try db.query("UPDATE functions SET latest = ? WHERE name = ?", [try json(latest), .text(latest.name)])
                return true
            }
        }
    }

    /// Removes a function with its versions, aliases and settings; false when it did not exist.
    public func deleteFunction(_ name: String) throws -> Bool {
        try writing {
            try db.transaction {
                if try db.query("SELECT 1 FROM functions WHERE name = ?", [.text(name)]).isEmpty { return false }
                try db.query("DELETE FROM functions WHERE name = ?", [.text(name)])
                return true
            }
        }
    }

    // MARK: versions

    /// Publishes $LATEST as the next version, or returns the newest version when nothing changed since.
    public func publishVersion(_ name: String, description: String?, lastModified: String, revisionId: String) throws -> FunctionRecord? {
        try writing {
            try db.transaction {
                guard let row = try db.query("SELECT latest, next_version FROM functions WHERE name = ?", [.text(name)]).first else { return nil }
                let latest = try decode(FunctionRecord.self, row[0])
                if let newest = try db.query("SELECT record FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1", [.text(name)]).first {
                    let published = try decode(FunctionRecord.self, newest[0])
                    if published.sameContent(as: latest) { return published }
                }
                let number = row[1].integer ?? 1
                var version = latest
                version.version = String(number)
                if let description { version.description = description }
                version.lastModified = lastModified
                version.revisionId = revisionId
                try db.query("INSERT INTO versions (name, version, record) VALUES (?, ?, ?)", [.text(name), .integer(number), try json(version)])
                try db.query("UPDATE functions SET next_version = ? WHERE name = ?", [.integer(number + 1), .text(name)])
                return version
            }
        }
    }

    public func version(_ name: String, _ number: Int) throws -> FunctionRecord? {
        try sync {
            try db.query("SELECT record FROM versions WHERE name = ? AND version = ?", [.text(name), .integer(Int64(number))])
                .first.map { try decode(FunctionRecord.self, $0[0]) }
        }
    }

    public func versions(_ name: String) throws -> [FunctionRecord] {
        try sync {
            try db.query("SELECT record FROM versions WHERE name = ? ORDER BY version", [.text(name)]).map { try decode(FunctionRecord.self, $0[0]) }
        }
    }

    public func deleteVersion(_ name: String, _ number: Int) throws -> Bool {
        try writing {
            try db.transaction {
                if try db.query("SELECT 1 FROM versions WHERE name = ? AND version = ?", [.text(name), .integer(Int64(number))]).isEmpty { return false }
                try db.query("DELETE FROM versions WHERE name = ? AND version = ?", [.text(name), .integer(Int64(number))])
                return true
            }
        }
    }

    // MARK: aliases

    /// Stores an alias; with `create`, false when it exists already; without, false when it does not.
    public func putAlias(_ function: String, _ alias: AliasRecord, create: Bool) throws -> Bool {
        try writing {
            try db.transaction {
                let exists = try !db.query("SELECT 1 FROM aliases WHERE name = ? AND alias = ?", [.text(function), .text(alias.name)]).isEmpty
                if exists == create { return false }
                try db.query("INSERT OR REPLACE INTO aliases (name, alias, record) VALUES (?, ?, ?)", [.text(function), .text(alias.name), try json(alias)])
                return true
            }
        }
    }

    public func alias(_ function: String, _ name: String) throws -> AliasRecord? {
        try sync {
            try db.query("SELECT record FROM aliases WHERE name = ? AND alias = ?", [.text(function), .text(name)])
                .first.map { try decode(AliasRecord.self, $0[0]) }
        }
    }

    public func aliases(_ function: String) throws -> [AliasRecord] {
        try sync {
            try db.query("SELECT record FROM aliases WHERE name = ? ORDER BY alias", [.text(function)]).map { try decode(AliasRecord.self, $0[0]) }
        }
    }

    public func deleteAlias(_ function: String, _ name: String) throws {
        try writing { _ = try db.query("DELETE FROM aliases WHERE name = ? AND alias = ?", [.text(function), .text(name)]) }
    }

    // MARK: tags

    public func tags(_ function: String) throws -> [String: String] {
        try sync {
            var out: [String: String] = [:]
            for row in try db.query("SELECT key, value FROM tags WHERE name = ?", [.text(function)]) {
                if let key = row[0].text, let value = row[1].text { out[key] = value }
            }
            return out
        }
    }

    /// Adds or replaces `tags`, unless the function would then have more than `limit`: nothing is changed
    /// and false is returned.
    public func tag(_ function: String, _ tags: [String: String], limit: Int) throws -> Bool {
        try writing {
            try db.transaction {
                let existing = Set(try db.query("SELECT key FROM tags WHERE name = ?", [.text(function)]).compactMap { $0[0].text })
                guard existing.union(tags.keys).count <= limit else { return false }
                for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                    _ = try db.query("INSERT OR REPLACE INTO tags (name, key, value) VALUES (?, ?, ?)", [.text(function), .text(key), .text(value)])
                }
                return true
            }
        }
    }

    public func untag(_ function: String, _ keys: [String]) throws {
        try writing {
            try db.transaction {
                for key in keys { _ = try db.query("DELETE FROM tags WHERE name = ? AND key = ?", [.text(function), .text(key)]) }
            }
        }
    }

    // MARK: concurrency

    public func setReservedConcurrency(_ function: String, _ value: Int?) throws {
        try writing {
            _ = try db.query("UPDATE functions SET reserved = ? WHERE name = ?", [value.map { .integer(Int64($0)) } ?? .null, .text(function)])
        }
    }

    public func reservedConcurrency(_ function: String) throws -> Int? {
        try sync {
            try db.query("SELECT reserved FROM functions WHERE name = ?", [.text(function)]).first?.first?.integer.map { Int($0) }
        }
    }

    /// Every function's reserved concurrency, for the account-wide checks.
    public func allReservedConcurrency() throws -> [String: Int] {
        try sync {
            var out: [String: Int] = [:]
            for row in try db.query("SELECT name, reserved FROM functions WHERE reserved IS NOT NULL") {
                if let name = row[0].text, let value = row[1].integer { out[name] = Int(value) }
            }
            return out
        }
    }

    public func setProvisioned(_ function: String, _ record: ProvisionedConcurrencyRecord) throws {
        try writing {
            _ = try db.query("INSERT OR REPLACE INTO provisioned (name, qualifier, record) VALUES (?, ?, ?)",
                             [.text(function), .text(record.qualifier), try json(record)])
        }
    }

    public func provisioned(_ function: String, _ qualifier: String) throws -> ProvisionedConcurrencyRecord? {
        try sync {
            try db.query("SELECT record FROM provisioned WHERE name = ? AND qualifier = ?", [.text(function), .text(qualifier)])
                .first.map { try decode(ProvisionedConcurrencyRecord.self, $0[0]) }
        }
    }

    /// Every provisioned-concurrency setting, by function.
    public func allProvisioned() throws -> [(function: String, record: ProvisionedConcurrencyRecord)] {
        try sync {
            try db.query("SELECT name, record FROM provisioned ORDER BY name, qualifier").map { ($0[0].text ?? "", try decode(ProvisionedConcurrencyRecord.self, $0[1])) }
        }
    }

    public func deleteProvisioned(_ function: String, _ qualifier: String) throws -> Bool {
        try writing {
            try db.transaction {
                if try db.query("SELECT 1 FROM provisioned WHERE name = ? AND qualifier = ?", [.text(function), .text(qualifier)]).isEmpty { return false }
                try db.query("DELETE FROM provisioned WHERE name = ? AND qualifier = ?", [.text(function), .text(qualifier)])
                return true
            }
        }
    }

    // MARK: layers

    /// Adds the next version of a layer (numbers are never reused, as in Lambda).
    public func publishLayerVersion(_ make: (Int) -> LayerVersionRecord) throws -> LayerVersionRecord {
        try writing {
            try db.transaction {
                let probe = make(0)
                let next = try db.query("SELECT next_version FROM layer_names WHERE name = ?", [.text(probe.name)]).first?.first?.integer ?? 1
                let record = make(Int(next))
                try db.query("INSERT OR REPLACE INTO layer_names (name, next_version) VALUES (?, ?)", [.text(record.name), .integer(next + 1)])
                try db.query("INSERT INTO layers (name, version, record) VALUES (?, ?, ?)", [.text(record.name), .integer(next), try json(record)])
                return record
            }
        }
    }

    public func layerVersion(_ name: String, _ version: Int) throws -> LayerVersionRecord? {
        try sync {
            try db.query("SELECT record FROM layers WHERE name = ? AND version = ?", [.text(name), .integer(Int64(version))])
                .first.map { try decode(LayerVersionRecord.self, $0[0]) }
        }
    }

    public func layerVersions(_ name: String) throws -> [LayerVersionRecord] {
        try sync {
            try db.query("SELECT record FROM layers WHERE name = ? ORDER BY version DESC", [.text(name)]).map { try decode(LayerVersionRecord.self, $0[0]) }
        }
    }

    /// The newest version of every layer.
    public func latestLayers() throws -> [LayerVersionRecord] {
        try sync {
            try db.query("SELECT record FROM layers l WHERE version = (SELECT max(version) FROM layers WHERE name = l.name) ORDER BY name")
                .map { try decode(LayerVersionRecord.self, $0[0]) }
        }
    }

    public func deleteLayerVersion(_ name: String, _ version: Int) throws {
        try writing { _ = try db.query("DELETE FROM layers WHERE name = ? AND version = ?", [.text(name), .integer(Int64(version))]) }
    }

    /// Every zip digest some function version or layer still uses (for garbage collection of stored zips).
    public func referencedZipDigests() throws -> Set<String> {
        var out = Set<String>()
        let records = try sync { () -> [FunctionRecord] in
            try (db.query("SELECT latest FROM functions") + db.query("SELECT record FROM versions")).map { try decode(FunctionRecord.self, $0[0]) }
        }
        for r in records {
            if let z = r.zipDigest { out.insert(z) }
            for l in r.layers { out.insert(l.zipDigest) }
        }
        for layer in try sync({ try db.query("SELECT record FROM layers").map { try decode(LayerVersionRecord.self, $0[0]) } }) {
            out.insert(layer.zipDigest)
        }
        return out
    }
}
