import HearthExecution
import HearthModel
import HearthNetwork
import Synchronization

/// The daemon's network as the launcher sees it: the bridge (nil when networking is off), what a
/// function that names no network gets, and Hearth's own API, which every networked function may
/// reach so that the AWS SDKs in it can invoke other functions.
public final class FunctionNetworking: Sendable {
    public let bridge: BridgeNetwork?
    public let defaultNetwork: FunctionNetwork
    /// The API's address and port on the host (127.0.0.1 when it listens on every address); the port is
    /// known for certain once the API listens (port 0 picks one).
    private let apiEndpoint: Mutex<(address: IPv4Address, port: UInt16)?>
    var api: (address: IPv4Address, port: UInt16)? { apiEndpoint.withLock { $0 } }

    /// What the AWS SDKs sign with (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
    let credentials: [(String, String)]

    public init(bridge: BridgeNetwork?, defaultNetwork: FunctionNetwork, api: (address: IPv4Address, port: UInt16)?,
                credentials: [(String, String)] = []) {
        self.bridge = bridge
        self.defaultNetwork = defaultNetwork
        self.apiEndpoint = Mutex(api)
        self.credentials = credentials
    }

    public func setAPIPort(_ port: Int) {
        guard let port = UInt16(exactly: port) else { return }
        apiEndpoint.withLock { endpoint in endpoint = endpoint.map { ($0.address, port) } }
    }

    /// Opens the API to every sandbox on the bridge, at the gateway on the API's port; once the API
    /// listens (its port is known then). A function's own allowance for that port still comes first.
    public func allowAPI() throws(NetworkError) {
        guard let bridge, let api else { return }
        try bridge.allowAPI(address: api.address, port: api.port)
    }

    /// No bridge: every function has loopback only.
    public static let off = FunctionNetworking(bridge: nil, defaultNetwork: .none, api: nil)

    /// How `instance`'s sandboxes join the network, with the variables that tell its runtime; nil for loopback only.
    func plan(for instance: FunctionInstance) throws(ServiceError) -> (plan: NetworkPlan, environment: [(String, String)])? {
        let wanted = instance.network ?? defaultNetwork
        guard wanted.hasInterface else { return nil }
        guard let bridge else {
            throw ServiceError(status: 502, type: "ServiceException",
                               message: "\(instance.name) asks for network mode \(wanted.mode.rawValue), and this daemon's network is off (network = off)")
        }
        // Hearth's API is open to every sandbox on the bridge by one rule (`allowAPI`), not per sandbox.
        let allowed = wanted
        let given = Set(instance.spec.environment.map(\.0))
        // The user's own variables win, as a user's AWS_ENDPOINT_URL_LAMBDA does on Lambda.
        let environment = (bridge.environment(for: wanted, apiPort: api?.port) + credentials).filter { !given.contains($0.0) }
        return (NetworkPlan(bridge: bridge, allowed: allowed), environment)
    }
}
