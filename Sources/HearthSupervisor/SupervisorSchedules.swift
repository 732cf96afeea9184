import Foundation
import HearthEvents
import HearthModel
import HearthRegistry

/// EventBridge Scheduler's schedules and groups, as the API changes them.
extension Supervisor {
    private func runner() throws(ServiceError) -> ScheduleRunner {
        guard let schedules else { throw .service("this daemon has no event queue") }
        return schedules
    }

    public func putSchedule(_ record: ScheduleRecord, create: Bool) async throws(ServiceError) {
        try record.validate()
        let runner = try runner()
        if let target = record.target.function {
            do { _ = try registry.resolve(FunctionReference(name: target.name, qualifier: target.qualifier)) } catch {
                throw ServiceError(status: 400, type: "ValidationException", message: "The target function \(record.target.arn) does not exist.")
            }
        }
        let groups = try await scheduleGroups().map(\.name)
        guard groups.contains(record.groupName) else {
            throw ServiceError(status: 404, type: "ResourceNotFoundException", message: "Schedule group \(record.groupName) does not exist.")
        }
        try await runner.put(record, create: create)
    }

    public func schedule(_ key: ScheduleKey) async throws(ServiceError) -> ScheduleRecord {
        guard let record = await (try runner()).schedule(key) else {
            throw ServiceError(status: 404, type: "ResourceNotFoundException", message: "Schedule \(key.name) does not exist.")
        }
        return record
    }

    public func schedules() async -> [ScheduleRecord] { await schedules?.all() ?? [] }

    public func deleteSchedule(_ key: ScheduleKey) async throws(ServiceError) { try await runner().delete(key) }

    public func scheduleGroups() async throws(ServiceError) -> [(name: String, creationDate: Double)] {
        guard let store = scheduleStore else { return [] }
        do {
            let stored = try await store.groups()
            return [("default", 0)] + stored.filter { $0.name != "default" }
        } catch {
            throw .service("\(error)")
        }
    }

    public func createScheduleGroup(_ name: String) async throws(ServiceError) {
        guard ScheduleRecord.isName(name) else {
            throw ServiceError(status: 400, type: "ValidationException",
                               message: "1 validation error detected: Value '\(name.prefix(80))' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$")
        }
        guard let store = scheduleStore else { throw .service("this daemon has no event queue") }
        let created: Bool
        do { created = name != "default" ? try await store.createGroup(name, creationDate: clock.now().timeIntervalSince1970) : false } catch {
            throw .service("\(error)")
        }
        guard created else { throw ServiceError(status: 409, type: "ConflictException", message: "Schedule group \(name) already exists.") }
    }

    public func deleteScheduleGroup(_ name: String) async throws(ServiceError) {
        guard name != "default" else {
            throw ServiceError(status: 400, type: "ValidationException", message: "The default schedule group cannot be deleted.")
        }
        try await runner().deleteGroup(name)
    }
}
