import Foundation
import HearthModel
import XCTest

final class RequestIdentifierTests: XCTestCase {
    func testRequestIdsAreLowercaseVersion4UUIDsAndDistinct() throws {
        let pattern = try NSRegularExpression(pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        var seen = Set<String>()
        for _ in 0..<20_000 {
            let id = RequestIdentifiers.uuid()
            XCTAssertEqual(pattern.numberOfMatches(in: id, range: NSRange(id.startIndex..., in: id)), 1, id)
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 20_000, "no id repeats")
        // Foundation parses it as the same UUID.
        let id = RequestIdentifiers.uuid()
        XCTAssertEqual(UUID(uuidString: id)?.uuidString.lowercased(), id)
    }

    func testTraceHeaderHasXRaysShape() throws {
        let header = RequestIdentifiers.traceHeader(epochSeconds: 0x5e1b_4151)
        let pattern = try NSRegularExpression(pattern: "^Root=1-5e1b4151-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")
        XCTAssertEqual(pattern.numberOfMatches(in: header, range: NSRange(header.startIndex..., in: header)), 1, header)
        XCTAssertNotEqual(header, RequestIdentifiers.traceHeader(epochSeconds: 0x5e1b_4151))
    }
}
