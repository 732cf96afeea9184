import Foundation
import HearthModel
@testable import HearthRuntimeAPI
import NIOConcurrencyHelpers
import XCTest

/// A response the runtime streams (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked) reaches the
/// invoker's sink piece by piece, before the runtime has finished; an error after the start comes in trailers.
final class ResponseStreamingTests: XCTestCase {
    var server: RuntimeAPIServer!
    var port = 0

    override func setUpWithError() throws {
        server = try RuntimeAPIServer.bind(host: "127.0.0.1", port: 0).wait()
        port = try XCTUnwrap(server.port)
    }

    override func tearDownWithError() throws {
        try server.close().wait()
    }

    func invocation(_ id: String) -> RuntimeInvocation {
        RuntimeInvocation(requestId: id, payload: Array("{}".utf8), deadlineMs: 1_900_000_000_000,
                          invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:fn", traceId: "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9")
    }

    /// Takes the event with GET /next, then opens the streamed POST of its response: the raw socket to write chunks on.
    func startStream(_ id: String, contentType: String = "application/octet-stream") throws -> RawHTTP {
        let next = try RawHTTP(port: port)
        let got = try next.send("GET", "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(got.headers["lambda-runtime-aws-request-id"], id)
        let post = try RawHTTP(port: port)
        try post.sendRaw("POST /2018-06-01/runtime/invocation/\(id)/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         + "Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: \(contentType)\r\n"
                         + "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n")
        return post
    }

    func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }

    func testStreamedPiecesReachTheSinkBeforeTheRuntimeHasFinished() throws {
        let id = UUID().uuidString.lowercased()
        let received = NIOLockedValueBox<[String]>([])
        let opened = NIOLockedValueBox<String?>(nil)
        let first = DispatchSemaphore(value: 0)
        let sink = ResponseSink(open: { type in opened.withLockedValue { $0 = type } }, write: { bytes in
            received.withLockedValue { $0.append(String(decoding: bytes, as: UTF8.self)) }
            first.signal()
        })
        let outcome = server.session.invoke(invocation(id), stream: sink)
        let post = try startStream(id, contentType: ResponseSink.httpIntegrationContentType)
        try post.sendRaw(chunk("hello "))
        XCTAssertEqual(first.wait(timeout: .now() + 5), .success, "the first piece arrives while the stream is still open")
        XCTAssertEqual(received.withLockedValue { $0 }.joined(), "hello ")
        XCTAssertEqual(opened.withLockedValue { $0 }, ResponseSink.httpIntegrationContentType)
        try post.sendRaw(chunk("world") + "0\r\n\r\n")
        let answer = try post.readResponse()
        XCTAssertEqual(answer.status, 202)
        XCTAssertEqual(try outcome.wait(), .response([]), "what was streamed was delivered; the result itself is empty")
        XCTAssertEqual(received.withLockedValue { $0 }.joined(), "hello world")
    }

    func testAnErrorAfterTheStreamBeganComesInTrailers() throws {
        let id = UUID().uuidString.lowercased()
        let outcome = server.session.invoke(invocation(id), stream: ResponseSink { _ in })
        let post = try startStream(id)
        let document = #"{"errorType":"Error","errorMessage":"midway"}"#
        try post.sendRaw(chunk("partial") + "0\r\nLambda-Runtime-Function-Error-Type: Error\r\n"
                         + "Lambda-Runtime-Function-Error-Body: \(Data(document.utf8).base64EncodedString())\r\n\r\n")
        XCTAssertEqual(try post.readResponse().status, 202)
        XCTAssertEqual(try outcome.wait(), .functionError(body: Array(document.utf8), errorType: "Error"))
    }

    func testWithoutASinkAStreamedResponseIsKeptWhole() throws {
        let id = UUID().uuidString.lowercased()
        let outcome = server.session.invoke(invocation(id))
        let post = try startStream(id)
        try post.sendRaw(chunk("all ") + chunk("at once") + "0\r\n\r\n")
        XCTAssertEqual(try post.readResponse().status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("all at once".utf8)))
    }
}
