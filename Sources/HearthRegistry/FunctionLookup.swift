import Foundation
import HearthModel
import HearthState

/// What the scheduler reads of the registry: records to run, and the concurrency settings it
/// enforces. `FunctionCatalog` is the real one.
public protocol FunctionLookup: Sendable {
    /// The record a reference names: $LATEST, a version number or an alias.
    func resolve(_ ref: FunctionReference) throws(ServiceError) -> FunctionRecord
    func latest(_ name: String) throws(ServiceError) -> FunctionRecord
    /// Reserved concurrency by function, for those that have it.
    func reservedConcurrencies() throws(ServiceError) -> [String: Int]
    /// Every provisioned-concurrency setting, by function.
    func provisionedConcurrencies() throws(ServiceError) -> [(function: String, record: ProvisionedConcurrencyRecord)]
    func functionCount() throws(ServiceError) -> Int
}

extension FunctionCatalog: FunctionLookup {
    public func reservedConcurrencies() throws(ServiceError) -> [String: Int] { try wrap { try state.allReservedConcurrency() } }

    public func provisionedConcurrencies() throws(ServiceError) -> [(function: String, record: ProvisionedConcurrencyRecord)] {
        try wrap { try state.allProvisioned() }
    }

    public func functionCount() throws(ServiceError) -> Int { try wrap { try state.functionCount() } }
}
