@testable import HearthControlAPI
import HearthModel
import XCTest

/// Lambda's error bodies, byte for byte as they were when JSONSerialization (sorted keys) wrote them.
final class ErrorResponseTests: XCTestCase {
    func testAnErrorIsTypeAndMessage() {
        let response = LambdaAPI.errorResponse(.notFound("Function not found: arn:aws:lambda:us-east-1:000000000000:function:f"))
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                       #"{"Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:f","Type":"User"}"#)
        XCTAssertTrue(response.headers.contains { $0 == ("Content-Type", "application/json") })
        XCTAssertTrue(response.headers.contains { $0 == ("x-amzn-ErrorType", "ResourceNotFoundException") })
    }

    func testAThrottleCarriesItsReasonAndALowercaseMessage() {
        let response = LambdaAPI.errorResponse(.throttled("ReservedFunctionConcurrentInvocationLimitExceeded"))
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                       #"{"message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User"}"#)
    }

    func testAMessageIsEscapedAndAServerFaultIsTypeService() throws {
        let message = "line \"one\"\nback\\slash \u{1} é"
        let response = LambdaAPI.errorResponse(ServiceError(status: 500, type: "ServiceException", message: message))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String])
        XCTAssertEqual(object, ["Message": message, "Type": "Service"])
    }
}

/// Which requests get the Invoke body limit: by the path's suffix, before any query.
final class InvocationPathTests: XCTestCase {
    func testInvocationPathsAreKnownByTheirSuffixBeforeTheQuery() {
        XCTAssertTrue(LambdaAPI.isInvocation("/2015-03-31/functions/f/invocations"))
        XCTAssertTrue(LambdaAPI.isInvocation("/2015-03-31/functions/f/invocations?Qualifier=1"))
        XCTAssertTrue(LambdaAPI.isInvocation("/2021-11-15/functions/f/response-streaming-invocations"))
        XCTAssertFalse(LambdaAPI.isInvocation("/2015-03-31/functions/f/configuration?x=/invocations"))
        XCTAssertFalse(LambdaAPI.isInvocation("/2015-03-31/functions/invocations/code"))
        XCTAssertFalse(LambdaAPI.isInvocation("invocations"))
    }
}
