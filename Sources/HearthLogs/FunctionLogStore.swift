/// What the API reads of function logs, and the one change it makes (DeleteLogGroup).
public protocol FunctionLogStore: Sendable {
    /// The current file's messages from byte `offset` (`hearth logs`), and where to continue.
    func read(_ function: String, from offset: Int, limit: Int, timestamps: Bool) -> (bytes: [UInt8], next: Int)
    /// Every stored event of `function`, oldest first, until `body` returns false.
    func scan(_ function: String, _ body: (LogEvent) -> Bool)
    func storedBytes(_ function: String) -> Int
    func remove(_ function: String)
}

extension FunctionLogs: FunctionLogStore {}
