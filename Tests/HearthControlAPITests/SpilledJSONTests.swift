import Foundation
@testable import HearthControlAPI
import XCTest

/// The JSON body scanner that spills long base64 strings (a zip in CreateFunction) to files: what it
/// keeps, what it decodes, and that no client text can pass for its markers.
final class SpilledJSONTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "spilled-json-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// Scans `text` handed over `blockSize` bytes at a time.
    func scan(_ text: String, blockSize: Int = 1 << 16) throws -> SpilledJSON {
        var rest = Array(text.utf8)[...]
        return try SpilledJSON.scan(spillDirectory: directory) {
            let block = Array(rest.prefix(blockSize))
            rest = rest.dropFirst(block.count)
            return block
        }
    }

    /// The value of `key` in the scanned document.
    func value(_ key: String, in spilled: SpilledJSON) throws -> String {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(spilled.document)) as? [String: Any])
        return try XCTUnwrap(object[key] as? String)
    }

    func randomBytes(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in rng.next() as UInt8 }
    }

    func testShortStringsStayInTheDocument() throws {
        let spilled = try scan(#"{"FunctionName": "f\"n", "Handler": "app.handler", "MemorySize": 128}"#)
        XCTAssertTrue(spilled.files.isEmpty)
        XCTAssertEqual(try value("FunctionName", in: spilled), "f\"n")
        XCTAssertEqual(try value("Handler", in: spilled), "app.handler")
    }

    /// A zip as base64, with every "/" written "\/" (as some JSON encoders do) and a few letters as \u
    /// escapes, handed over in odd-sized blocks: the file holds the zip's bytes exactly.
    func testALongBase64StringIsDecodedToAFileWhateverItsEscapes() throws {
        let bytes = randomBytes(300_000)
        var base64 = Data(bytes).base64EncodedString()
        base64 = base64.replacingOccurrences(of: "/", with: "\\/").replacingOccurrences(of: "A", with: "\\u0041")
        for blockSize in [7, 4096, 1 << 16] {
            let spilled = try scan(#"{"ZipFile": ""# + base64 + #"", "Publish": true}"#, blockSize: blockSize)
            XCTAssertEqual(spilled.files.count, 1)
            let marker = try value("ZipFile", in: spilled)
            let file = try XCTUnwrap(try XCTUnwrap(spilled.file(for: marker)), "valid base64 is decoded")
            XCTAssertEqual(try file.readAll(limit: 1 << 20), bytes, "block size \(blockSize)")
            XCTAssertLessThan(spilled.document.count, 200, "the document keeps a marker, not the string")
        }
    }

    func testBase64WithoutItsPaddingIsDecoded() throws {
        let bytes = randomBytes(100_001)
        let base64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let spilled = try scan(#"{"ZipFile": ""# + base64 + #""}"#)
        let file = try XCTUnwrap(try XCTUnwrap(spilled.file(for: try value("ZipFile", in: spilled))))
        XCTAssertEqual(try file.readAll(limit: 1 << 20), bytes)
    }

    /// A long string that is not base64 is marked as such (the API then names the field), not decoded.
    func testALongStringThatIsNotBase64HasNoFile() throws {
        for text in [String(repeating: "!", count: 100_000), String(repeating: "QUJD", count: 30_000) + "\\n" + "QUJD"] {
            let spilled = try scan(#"{"ZipFile": ""# + text + #""}"#)
            XCTAssertEqual(spilled.files.count, 1)
            let found = try XCTUnwrap(spilled.file(for: try value("ZipFile", in: spilled)), "the marker is this document's")
            XCTAssertNil(found, "not base64: no file")
        }
    }

    /// Markers carry a random part per document: a client's string shaped like one is only a string.
    func testAClientStringNeverPassesForAMarker() throws {
        let spilled = try scan(#"{"ZipFile": "\u0001hearth-spill-0:0", "Other": ""# + String(repeating: "QUJD", count: 20_000) + #""}"#)
        XCTAssertTrue(spilled.file(for: try value("ZipFile", in: spilled)) == nil, "a client's lookalike is no marker")
        XCTAssertTrue(spilled.file(for: try value("Other", in: spilled)) != nil)
        let another = try scan(#"{"ZipFile": ""# + String(repeating: "QUJD", count: 20_000) + #""}"#)
        XCTAssertNotEqual(spilled.marker, another.marker)
        XCTAssertTrue(another.file(for: try value("Other", in: spilled)) == nil, "one document's marker means nothing in another")
    }

    func testABrokenUnicodeEscapeIsAnError() {
        XCTAssertThrowsError(try scan(#"{"a": "\u12G4"}"#)) { error in
            XCTAssertTrue("\(error)".contains("four hex digits"), "\(error)")
        }
    }
}
