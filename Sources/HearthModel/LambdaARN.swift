/// ARNs as Lambda writes them. Hearth is one account in one region.
public enum LambdaARN {
    /// Twelve digits, as every ARN needs; nothing is billed to it.
    public static let accountId = "000000000000"

    /// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    public static func function(_ name: String, qualifier: String? = nil, region: String) -> String {
        "arn:aws:lambda:\(region):\(accountId):function:\(name)" + (qualifier.map { ":" + $0 } ?? "")
    }

    /// arn:aws:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME
    public static func schedule(group: String, name: String, region: String) -> String {
        "arn:aws:scheduler:\(region):\(accountId):schedule/\(group)/\(name)"
    }

    /// arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME
    public static func scheduleGroup(_ name: String, region: String) -> String {
        "arn:aws:scheduler:\(region):\(accountId):schedule-group/\(name)"
    }

    /// arn:aws:lambda:REGION:ACCOUNT:layer:NAME[:VERSION]
    public static func layer(_ name: String, version: Int? = nil, region: String) -> String {
        "arn:aws:lambda:\(region):\(accountId):layer:\(name)" + (version.map { ":\($0)" } ?? "")
    }
}
