import Foundation
import HearthEvents
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSupervisor

extension LambdaAPI {
    func accountSettings(_ request: APIRequest) async throws(ServiceError) -> APIResponse {
        let status = await service.status()
        let reserved = (try? functions.reservedConcurrencyTotal()) ?? 0
        let codeBytes = functions.storedCodeBytes()
        return .json(200, [
            "AccountLimit": [
                "TotalCodeSize": 80_530_636_800, "CodeSizeUnzipped": 262_144_000, "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": status.accountConcurrency, "UnreservedConcurrentExecutions": status.accountConcurrency - reserved,
            ],
            "AccountUsage": ["TotalCodeSize": codeBytes, "FunctionCount": status.functions],
        ])
    }

    /// Pools, memory budget, busy/idle sandboxes and the event queue, for `hearth status`.
    func status(_ request: APIRequest) async throws(ServiceError) -> APIResponse {
        struct Answer: Encodable {
            var status: Scheduler.Status
            var queue: EventDispatcher.Stats?
            func encode(to encoder: any Encoder) throws {
                try status.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encodeIfPresent(queue, forKey: .queue)
            }
            enum Key: CodingKey { case queue }
        }
        let answer = Answer(status: await service.status(), queue: await service.queueStats())
        let data = (try? JSONEncoder().encode(answer)) ?? Data("{}".utf8)
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    /// A function's log from byte `offset` (?offset=N), each line after its time with ?timestamps=1;
    /// X-Hearth-Next-Offset says where to continue.
    func logs(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        _ = try functions.latest(ref.name)
        let offset = request.query["offset"].flatMap(Int.init) ?? 0
        let (bytes, next) = service.logStore.read(ref.name, from: offset, limit: 1 << 20, timestamps: request.query["timestamps"] == "1")
        return APIResponse(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8"), ("X-Hearth-Next-Offset", String(next))], body: bytes)
    }

    /// A stored zip by its SHA-256 (GetFunction's and GetLayerVersion's Code.Location).
    func code(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let digest = params["digest"] ?? ""
        guard let zip = functions.openStoredZip(digest: digest) else { throw .notFound("No stored package \(digest.prefix(64))") }
        // Sent by the kernel from the file: eight concurrent downloads of a 40 MB zip took the daemon from 50 to 362 MB.
        var response = APIResponse(status: 200, headers: [("Content-Type", "application/zip")])
        response.file = ResponseFile(fd: zip.fd, length: zip.length)
        return response
    }
}
