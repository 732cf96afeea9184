/// A connection's requests, handled one at a time in the order they came: a client that sends
/// its next request before it has the answer (HTTP pipelining) has it held until then, so answers
/// never overtake each other, and the connection is not read while a request is held (so a client
/// cannot pile up requests in memory). Used on the connection's event loop only.
public struct OneAtATime<Item> {
    private var busy = false
    private var held: [Item] = []
    private var readPending = false

    public init() {}

    /// The item to handle now, or nil: held until the ones before it are answered.
    public mutating func admit(_ item: Item) -> Item? {
        guard busy else {
            busy = true
            return item
        }
        held.append(item)
        return nil
    }

    /// The current request is answered. Returns the next one to handle, if one is held, and whether
    /// to read again (a read was put off while requests were held).
    public mutating func finish() -> (next: Item?, resumeReading: Bool) {
        let next = held.isEmpty ? nil : held.removeFirst()
        busy = next != nil
        let resume = readPending && held.isEmpty
        if resume { readPending = false }
        return (next, resume)
    }

    /// Asked on every read the channel would make: false (and remembered) while requests are held.
    public mutating func mayRead() -> Bool {
        if held.isEmpty { return true }
        readPending = true
        return false
    }

    /// Whether a request is being handled (its answer not yet written).
    public var answerDue: Bool { busy }
}
