import Foundation

/// What each arm's capacity costs. Lambda's on-demand prices (us-east-1, x86, as AWS publishes them;
/// check before quoting as current) bill the serverless arm; a per vCPU-hour and GB-hour price bills the
/// always-on arm's held capacity (defaults: AWS Fargate's us-east-1 Linux x86 prices, a container
/// service billed for what it holds). Every price can be overridden.
public struct Pricing: Sendable, Equatable, Codable {
    public var perMillionRequests = 0.20
    public var perGBSecond = 0.0000166667
    public var perVCPUHour = 0.04048
    public var perGBHour = 0.004445
    /// Lambda's CPU share: one vCPU at 1,769 MB, in proportion below and above.
    public static let megabytesPerVCPU = 1769.0

    public init() {}

    /// vCPUs an environment of `memoryMB` gets (as Lambda allots them, and as Hearth's sandboxes do).
    public static func vcpus(memoryMB: Int) -> Double { Double(memoryMB) / megabytesPerVCPU }

    /// Lambda's bill for `requests` whose billed durations add up to `billedMs`, at `memoryMB`.
    public func lambda(requests: Int, billedMs: Int, memoryMB: Int) -> Double {
        Double(requests) / 1e6 * perMillionRequests + gbSeconds(billedMs: billedMs, memoryMB: memoryMB) * perGBSecond
    }

    public func gbSeconds(billedMs: Int, memoryMB: Int) -> Double { Double(billedMs) / 1000 * Double(memoryMB) / 1024 }

    /// What holding `environments` of `memoryMB` for `seconds` costs.
    public func capacity(environments: Int, memoryMB: Int, seconds: Double) -> Double {
        let hours = seconds / 3600
        return Double(environments) * hours * (Self.vcpus(memoryMB: memoryMB) * perVCPUHour + Double(memoryMB) / 1024 * perGBHour)
    }

    /// The request rate (per second) above which the always-on capacity costs less than Lambda, for
    /// requests billed `meanBilledMs` each.
    public func breakEvenPerSecond(environments: Int, memoryMB: Int, meanBilledMs: Double) -> Double? {
        let perRequest = perMillionRequests / 1e6 + meanBilledMs / 1000 * Double(memoryMB) / 1024 * perGBSecond
        guard perRequest > 0 else { return nil }
        return capacity(environments: environments, memoryMB: memoryMB, seconds: 1) / perRequest
    }
}
