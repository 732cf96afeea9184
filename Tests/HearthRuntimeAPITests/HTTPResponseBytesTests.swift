import HearthHTTP
import NIOCore
import NIOHTTP1
import XCTest

/// The bytes of a response as Hearth's servers write them.
final class HTTPResponseBytesTests: XCTestCase {
    private func encode(_ status: Int, _ headers: [(String, String)], _ body: String, keepAlive: Bool = true,
                        version: HTTPVersion = .http1_1, headRequest: Bool = false) -> String? {
        HTTPResponseBytes.encode(status: status, headers: headers, body: Array(body.utf8),
                                 for: RequestFraming(version: version, keepAlive: keepAlive, headRequest: headRequest), allocator: ByteBufferAllocator())
            .map { String(buffer: $0) }
    }

    func testAWholeResponse() {
        XCTAssertEqual(encode(202, [("Content-Type", "application/json")], #"{"status":"OK"}"#),
                       "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}")
    }

    func testWithoutKeepAliveAndForHTTP10() {
        XCTAssertEqual(encode(404, [], "", keepAlive: false, version: .http1_0),
                       "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    func testAnHTTP10ClientIsToldTheConnectionStaysOpen() {
        XCTAssertEqual(encode(200, [], "{}", keepAlive: true, version: .http1_0),
                       "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
    }

    func testA204HasNeitherLengthNorBody() {
        XCTAssertEqual(encode(204, [("X-Amz-Executed-Version", "$LATEST")], "ignored"),
                       "HTTP/1.1 204 No Content\r\nX-Amz-Executed-Version: $LATEST\r\n\r\n")
    }

    func testAHeadRequestGetsTheLengthButNoBody() {
        XCTAssertEqual(encode(200, [], "abc", headRequest: true), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
    }

    func testHeadersThatWouldBreakTheMessageAreRefused() {
        XCTAssertNil(encode(200, [("X-A", "1\r\nX-B: 2")], ""), "CR LF in a value")
        XCTAssertNil(encode(200, [("X-A", "1\n")], ""), "a bare LF")
        XCTAssertNil(encode(200, [("X-A", "a\u{0}b")], ""), "NUL")
        XCTAssertNil(encode(200, [("X A", "1")], ""), "a space in a name")
        XCTAssertNil(encode(200, [("X-A:", "1")], ""), "a colon in a name")
        XCTAssertNil(encode(200, [("", "1")], ""), "an empty name")
        XCTAssertNotNil(encode(200, [("X-Amz-Log-Result", "U1RBUlQ=")], ""))
        XCTAssertNotNil(encode(200, [("X-Text", "tabs\tand spaces are fine")], ""))
    }
}
