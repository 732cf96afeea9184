import HearthModel
import HearthPackages
import HearthRegistry
import HearthSupervisor

extension LambdaAPI {
    /// PUT /hearth/v1/images/NAME: an OCI archive or `docker save` tarball as the body, streamed to disk,
    /// imported and kept under NAME, which an ImageUri may then name: how a client that cannot write to
    /// the daemon's image directories deploys an image function.
    func uploadImage(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let name = params["image"] ?? ""
        guard ImageRoots.isUploadName(name) else {
            throw .validation("imageName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9._-]{0,127}")
        }
        let archive: UnnamedFile
        if let spooled = request.spooled {
            archive = spooled
        } else {
            guard !request.body.isEmpty else { throw .invalidParameter("The body must be an OCI archive or a docker save tarball") }
            do {
                archive = try UnnamedFile(directory: spillDirectory)
                try archive.write(request.body)
            } catch {
                throw .service("cannot keep the upload: \(error)")
            }
        }
        let digest = try await service.uploadImage(name: name, archive: archive)
        return .json(201, ["ImageUri": name, "ResolvedImageUri": digest])
    }
}
