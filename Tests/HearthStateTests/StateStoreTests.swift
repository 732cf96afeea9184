import Foundation
import GRDB
@testable import HearthState
import XCTest

/// The state store against a real SQLite file in a temp dir.
final class StateStoreTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hearth-state-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func record(_ name: String, memory: Int = 128, code: String = "abc") -> FunctionRecord {
        FunctionRecord(name: name, version: "$LATEST", packageType: "Zip", runtime: "python3.11", handler: "app.handler",
                       role: "arn:aws:iam::000000000000:role/r", description: "", memorySize: memory, timeout: 3, ephemeralStorage: 512,
                       environment: ["A": "1"], layers: [], codeSha256: code, codeSize: 10, zipDigest: code, imageUri: nil, imageDigest: nil,
                       imageConfig: nil, architectures: ["x86_64"], lastModified: "t0", revisionId: UUID().uuidString)
    }

    /// A committed change survives power loss: the writer syncs at each commit (synchronous=FULL), which
    /// GRDB's WAL setup had turned back to NORMAL after the configuration's pragmas.
    func testTheWriterSyncsEveryCommit() throws {
        let store = try StateStore(path: directory + "/sync.db")
        XCTAssertEqual(try store.writerSynchronousLevel(), 2, "PRAGMA synchronous on the writer: 2 is FULL")
    }

    func testFunctionsSurviveReopeningTheFile() throws {
        let path = directory + "/state.db"
        do {
            let store = try StateStore(path: path)
            XCTAssertTrue(try store.createFunction(record("a")))
            XCTAssertFalse(try store.createFunction(record("a")), "a second create of the same name must be refused")
            XCTAssertNotNil(try store.publishVersion("a", description: "v1", lastModified: "t1", revisionId: "r1"))
            XCTAssertTrue(try store.putAlias("a", AliasRecord(name: "live", functionVersion: "1", description: "", revisionId: "x"), create: true))
            try store.setReservedConcurrency("a", 5)
        }
        let reopened = try StateStore(path: path)
        XCTAssertEqual(try reopened.function("a")?.memorySize, 128)
        XCTAssertEqual(try reopened.versions("a").map(\.version), ["1"])
        XCTAssertEqual(try reopened.alias("a", "live")?.functionVersion, "1")
        XCTAssertEqual(try reopened.reservedConcurrency("a"), 5)
    }

    /// Tags: added, replaced, capped (nothing changes past the cap), removed, gone with their function; and a
    /// state file from before tags (schema 1) gains them when opened.
    func testTagsAndTheMigrationThatAddsThem() throws {
        let path = directory + "/state.db"
        do {
            let store = try StateStore(path: path)
            XCTAssertTrue(try store.createFunction(record("a")))
            XCTAssertTrue(try store.tag("a", ["k1": "v1", "k2": "v2"], limit: 3))
            XCTAssertTrue(try store.tag("a", ["k1": "new"], limit: 3))
            XCTAssertFalse(try store.tag("a", ["k3": "v", "k4": "v"], limit: 3), "4 tags are over a limit of 3")
            XCTAssertEqual(try store.tags("a"), ["k1": "new", "k2": "v2"], "a refused set changes nothing")
            try store.untag("a", ["k2", "absent"])
            XCTAssertEqual(try store.tags("a"), ["k1": "new"])
            XCTAssertTrue(try store.deleteFunction("a"))
            XCTAssertEqual(try store.tags("a"), [:])
        }
        // What Hearth's schema 1 wrote: no tags, no event invoke configurations, no function URLs, no policies, no
        // layer policies, recursion or runtime management settings.
        do {
            let old = try DatabaseQueue(path: path)
            try old.write {
                try $0.execute(sql: """
                    DROP TABLE tags; DROP TABLE event_invoke_configs; DROP TABLE function_urls; DROP TABLE policies;
                    DROP TABLE layer_policies; DROP TABLE runtime_management; ALTER TABLE functions DROP COLUMN recursive_loop;
                    PRAGMA user_version = 1;
                    """)
            }
        }
        let migrated = try StateStore(path: path)
        XCTAssertTrue(try migrated.createFunction(record("b")))
        XCTAssertTrue(try migrated.tag("b", ["k": "v"], limit: 50))
        XCTAssertEqual(try migrated.tags("b"), ["k": "v"])
        try migrated.putEventInvokeConfig("b", EventInvokeConfigRecord(qualifier: "$LATEST", maximumRetryAttempts: 0, maximumEventAgeInSeconds: nil,
                                                                      onSuccess: nil, onFailure: nil, lastModified: 1))
        XCTAssertEqual(try migrated.eventInvokeConfig("b", "$LATEST")?.maximumRetryAttempts, 0)
        XCTAssertTrue(try migrated.setRecursiveLoop("b", "Allow"))
        XCTAssertEqual(try migrated.recursiveLoop("b"), .some("Allow"))
    }

    /// A layer version's policy goes with the version; a runtime management setting with its function version; the
    /// recursion setting is the function's, unset until written.
    func testLayerPoliciesAndRuntimeSettingsGoWithWhatTheyBelongTo() throws {
        let store = try StateStore(path: directory + "/state.db")
        XCTAssertTrue(try store.createFunction(record("a")))
        XCTAssertEqual(try store.recursiveLoop("a"), .some(nil))
        XCTAssertTrue(try store.recursiveLoop("absent") == nil, "no such function")
        XCTAssertFalse(try store.setRecursiveLoop("absent", "Allow"))

        let layer = try store.publishLayerVersion {
            LayerVersionRecord(name: "l", version: $0, description: "", compatibleRuntimes: [], compatibleArchitectures: [], licenseInfo: nil,
                               codeSha256: "", codeSize: 1, zipDigest: "00", createdDate: "t")
        }
        XCTAssertFalse(try store.setLayerPolicy("l", version: 2, statements: ["{}"], expected: nil, revisionId: "r1"), "no such version")
        XCTAssertTrue(try store.setLayerPolicy("l", version: layer.version, statements: ["{}"], expected: nil, revisionId: "r1"))
        XCTAssertFalse(try store.setLayerPolicy("l", version: layer.version, statements: ["{}", "{}"], expected: "r0", revisionId: "r2"),
                       "a change from a revision that moved on is refused")
        XCTAssertEqual(try store.layerPolicy("l", version: layer.version)?.revisionId, "r1")
        try store.deleteLayerVersion("l", layer.version)
        XCTAssertNil(try store.layerPolicy("l", version: layer.version))

        XCTAssertTrue(try store.setRuntimeManagement("a", qualifier: nil, RuntimeManagementRecord(updateRuntimeOn: "FunctionUpdate")))
        XCTAssertTrue(try store.setRuntimeManagement("a", qualifier: "1", RuntimeManagementRecord(updateRuntimeOn: "Manual", runtimeVersionArn: "x")))
        XCTAssertFalse(try store.setRuntimeManagement("absent", qualifier: nil, RuntimeManagementRecord(updateRuntimeOn: "Auto")))
        XCTAssertEqual(try store.runtimeManagement("a", qualifier: "1")?.runtimeVersionArn, "x")
        XCTAssertEqual(try store.runtimeManagement("a", qualifier: nil)?.updateRuntimeOn, "FunctionUpdate")
        XCTAssertTrue(try store.deleteFunction("a"))
        XCTAssertNil(try store.runtimeManagement("a", qualifier: nil))
    }

    /// Function URLs: one per function and alias, found by id, updated in place, gone with their function.
    func testFunctionURLsAreOnePerQualifierAndGoWithTheirFunction() throws {
        let store = try StateStore(path: directory + "/state.db")
        XCTAssertTrue(try store.createFunction(record("a")))
        func url(_ id: String, _ qualifier: String?, auth: String = "NONE") -> FunctionUrlRecord {
            FunctionUrlRecord(urlId: id, qualifier: qualifier, authType: auth, invokeMode: nil, cors: nil, creationTime: "t0", lastModifiedTime: "t0")
        }
        XCTAssertTrue(try store.createFunctionUrl("a", url(String(repeating: "1", count: 32), nil)))
        XCTAssertFalse(try store.createFunctionUrl("a", url(String(repeating: "2", count: 32), nil)), "one URL per qualifier")
        XCTAssertTrue(try store.createFunctionUrl("a", url(String(repeating: "3", count: 32), "live")))
        XCTAssertTrue(try store.updateFunctionUrl("a", url(String(repeating: "1", count: 32), nil, auth: "AWS_IAM")))
        XCTAssertFalse(try store.updateFunctionUrl("a", url(String(repeating: "9", count: 32), "other")), "no URL there to update")
        XCTAssertEqual(try store.functionUrl("a", qualifier: nil)?.authType, "AWS_IAM")
        XCTAssertEqual(try store.functionUrls("a").map(\.qualifier), [nil, "live"])
        XCTAssertEqual(Set(try store.allFunctionUrls().map(\.record.urlId)), [String(repeating: "1", count: 32), String(repeating: "3", count: 32)])
        XCTAssertTrue(try store.deleteFunctionUrl("a", qualifier: "live"))
        XCTAssertFalse(try store.deleteFunctionUrl("a", qualifier: "live"))
        XCTAssertTrue(try store.deleteFunction("a"))
        XCTAssertEqual(try store.allFunctionUrls().count, 0, "a deleted function's URLs go with it")
    }

    /// Event invoke configurations: one per qualifier, replaced by a put, gone with their version, alias or function.
    func testEventInvokeConfigsLiveAndDieWithWhatTheyConfigure() throws {
        let store = try StateStore(path: directory + "/state.db")
        XCTAssertTrue(try store.createFunction(record("f")))
        XCTAssertNotNil(try store.publishVersion("f", description: nil, lastModified: "t", revisionId: "r"))
        XCTAssertTrue(try store.putAlias("f", AliasRecord(name: "live", functionVersion: "1", description: "", revisionId: "x"), create: true))
        func config(_ q: String, retries: Int) -> EventInvokeConfigRecord {
            EventInvokeConfigRecord(qualifier: q, maximumRetryAttempts: retries, maximumEventAgeInSeconds: 60,
                                    onSuccess: nil, onFailure: "arn:aws:lambda:us-east-1:000000000000:function:g", lastModified: 5)
        }
        for q in ["$LATEST", "1", "live"] { try store.putEventInvokeConfig("f", config(q, retries: 1)) }
        try store.putEventInvokeConfig("f", config("$LATEST", retries: 2))
        XCTAssertEqual(try store.eventInvokeConfig("f", "$LATEST"), config("$LATEST", retries: 2))
        XCTAssertEqual(Set(try store.eventInvokeConfigs("f").map(\.qualifier)), ["$LATEST", "1", "live"])
        XCTAssertTrue(try store.deleteVersion("f", 1))
        try store.deleteAlias("f", "live")
        XCTAssertEqual(try store.eventInvokeConfigs("f").map(\.qualifier), ["$LATEST"])
        XCTAssertFalse(try store.deleteEventInvokeConfig("f", "1"))
        XCTAssertTrue(try store.deleteFunction("f"))
        XCTAssertEqual(try store.eventInvokeConfigs("f"), [])
    }

    func testListingPagesInNameOrder() throws {
        let store = try StateStore(path: directory + "/state.db")
        for name in ["c", "a", "e", "b", "d"] { XCTAssertTrue(try store.createFunction(record(name))) }
        XCTAssertEqual(try store.listFunctions(after: nil, limit: 2).map(\.name), ["a", "b"])
        XCTAssertEqual(try store.listFunctions(after: "b", limit: 2).map(\.name), ["c", "d"])
        XCTAssertEqual(try store.listFunctions(after: "d", limit: 2).map(\.name), ["e"])
        XCTAssertEqual(try store.functionCount(), 5)
    }

    func testPublishingUnchangedCodeReturnsTheSameVersion() throws {
        let store = try StateStore(path: directory + "/state.db")
        XCTAssertTrue(try store.createFunction(record("f")))
        let v1 = try XCTUnwrap(try store.publishVersion("f", description: nil, lastModified: "t1", revisionId: "r1"))
        let again = try XCTUnwrap(try store.publishVersion("f", description: nil, lastModified: "t2", revisionId: "r2"))
        XCTAssertEqual(v1.version, "1")
        XCTAssertEqual(again.version, "1", "nothing changed, so no new version")
        XCTAssertTrue(try store.updateLatest(record("f", memory: 256)))
        let v2 = try XCTUnwrap(try store.publishVersion("f", description: nil, lastModified: "t3", revisionId: "r3"))
        XCTAssertEqual(v2.version, "2")
        XCTAssertEqual(try store.version("f", 1)?.memorySize, 128, "a published version never changes")
        XCTAssertEqual(try store.version("f", 2)?.memorySize, 256)
        // Version numbers are not reused after a delete.
        XCTAssertTrue(try store.deleteVersion("f", 2))
        XCTAssertTrue(try store.updateLatest(record("f", memory: 512)))
        XCTAssertEqual(try store.publishVersion("f", description: nil, lastModified: "t4", revisionId: "r4")?.version, "3")
    }

    func testDeletingAFunctionTakesItsVersionsAliasesAndSettings() throws {
        let store = try StateStore(path: directory + "/state.db")
        XCTAssertTrue(try store.createFunction(record("g")))
        _ = try store.publishVersion("g", description: nil, lastModified: "t", revisionId: "r")
        XCTAssertTrue(try store.putAlias("g", AliasRecord(name: "prod", functionVersion: "1", description: "", revisionId: "x"), create: true))
        try store.setProvisioned("g", ProvisionedConcurrencyRecord(qualifier: "prod", requested: 2, lastModified: "t"))
        XCTAssertTrue(try store.deleteFunction("g"))
        XCTAssertFalse(try store.deleteFunction("g"))
        XCTAssertTrue(try store.createFunction(record("g")))
        XCTAssertEqual(try store.versions("g"), [])
        XCTAssertNil(try store.alias("g", "prod"))
        XCTAssertNil(try store.provisioned("g", "prod"))
    }

    func testLayerVersionsCountUpAndReferencedZipsAreKnown() throws {
        let store = try StateStore(path: directory + "/state.db")
        func layer(_ v: Int) -> LayerVersionRecord {
            LayerVersionRecord(name: "deps", version: v, description: "", compatibleRuntimes: [], compatibleArchitectures: [],
                               licenseInfo: nil, codeSha256: "x", codeSize: 1, zipDigest: "zip\(v)", createdDate: "t")
        }
        XCTAssertEqual(try store.publishLayerVersion(layer).version, 1)
        XCTAssertEqual(try store.publishLayerVersion(layer).version, 2)
        try store.deleteLayerVersion("deps", 2)
        XCTAssertEqual(try store.publishLayerVersion(layer).version, 3)
        XCTAssertEqual(try store.latestLayers().map(\.version), [3])
        XCTAssertTrue(try store.createFunction(record("h", code: "fnzip")))
        XCTAssertEqual(try store.referencedZipDigests(), ["zip1", "zip3", "fnzip"])
    }

    func testADatabaseFromANewerHearthIsRefused() throws {
        let path = directory + "/state.db"
        _ = try StateStore(path: path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 99'); c.commit()", path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("python3 with sqlite3 is needed to write the schema version") }
        XCTAssertThrowsError(try StateStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("newer Hearth (schema 99"), "\(error)")
        }
    }

    func testEveryChangeStartsANewGeneration() throws {
        let store = try StateStore(path: directory + "/state.db")
        let g0 = store.generation
        _ = try store.function("none")
        XCTAssertEqual(store.generation, g0, "reads do not count")
        XCTAssertTrue(try store.createFunction(record("gen")))
        try store.setReservedConcurrency("gen", 2)
        try store.deleteAlias("gen", "x")
        XCTAssertEqual(store.generation, g0 + 3)
    }

    func testAFileThatIsNotADatabaseIsAClearError() throws {
        let path = directory + "/junk.db"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try StateStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "the error names the file: \(error)")
        }
    }
}
