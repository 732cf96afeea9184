/// The credentials the daemon gives its networked functions, as Lambda gives each function its execution
/// role's (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): made at start, held in memory
/// only, accepted by the API's SigV4 check until the daemon stops. Hearth has no IAM: they allow what
/// any access key allows.
public struct FunctionCredentials: Sendable {
    public let key: AccessKey
    public let sessionToken: String

    public static func make() -> FunctionCredentials {
        // "ASIA" as AWS's temporary keys begin, so SDKs and logs read them as such.
        let id = "ASIA" + AccessKeyFile.randomID().dropFirst(4)
        let key = AccessKey(id: id, secret: AccessKeyFile.randomSecret(), created: "", description: "functions' session key")
        return FunctionCredentials(key: key, sessionToken: AccessKeyFile.randomSecret() + AccessKeyFile.randomSecret())
    }

    /// The secret for `id`: this key's, else what `others` holds.
    public func secret(for id: String, others: (String) -> String?) -> String? {
        id == key.id ? key.secret : others(id)
    }

    public var environment: [(String, String)] {
        [("AWS_ACCESS_KEY_ID", key.id), ("AWS_SECRET_ACCESS_KEY", key.secret), ("AWS_SESSION_TOKEN", sessionToken)]
    }
}
