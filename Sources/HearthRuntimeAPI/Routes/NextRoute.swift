/// GET /2018-06-01/runtime/invocation/next: a long poll; answered with the next event.
enum NextRoute {
    static func handle(_ request: RuntimeAPIRequest, session: RuntimeSession, connection: ObjectIdentifier,
                       respond: @escaping (RuntimeAPIResponse) -> Void) {
        session.next(connection: connection, respond: respond)
    }

    /// The event and its headers; optional headers only when there is a value (as RIE does).
    static func render(_ invocation: RuntimeInvocation) -> RuntimeAPIResponse {
        var headers: [(String, String)] = [
            ("Lambda-Runtime-Aws-Request-Id", invocation.requestId),
            ("Lambda-Runtime-Deadline-Ms", String(invocation.deadlineMs)),
            ("Lambda-Runtime-Invoked-Function-Arn", invocation.invokedFunctionArn),
            ("Lambda-Runtime-Trace-Id", invocation.traceId),
            ("Content-Type", invocation.contentType),
        ]
        if let context = invocation.clientContext { headers.append(("Lambda-Runtime-Client-Context", context)) }
        if let identity = invocation.cognitoIdentity { headers.append(("Lambda-Runtime-Cognito-Identity", identity)) }
        return RuntimeAPIResponse(status: 200, headers: headers, body: invocation.payload)
    }
}
