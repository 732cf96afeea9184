#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthLogs
import HearthModel
import HearthPackages
import HearthSandbox
import HearthState

/// What a user says a function is, in Lambda's terms.
public struct FunctionDefinition: Sendable {
    public enum Code: Sendable {
        /// A zip package run by a runtime image (Lambda's runtime name) with a handler.
        case zip(path: String, runtime: String, handler: String)
        /// A container image: ENTRYPOINT + CMD start the runtime, CMD's last word is the handler.
        case image(String)
        /// An image already imported into the package store.
        case storedImage(Digest)
    }

    public var name: String
    public var code: Code
    public var layers: [String]
    public var memoryMB: Int
    public var timeoutSeconds: Int
    public var environment: [(String, String)]
    public var version = "$LATEST"
    public var ephemeralStorageMB = 512
    /// ImageConfig: what replaces the image's ENTRYPOINT, CMD and WORKDIR.
    public var imageOverride = ImageConfigOverride(entryPoint: nil, command: nil, workingDirectory: nil)
    /// AWS_LAMBDA_INITIALIZATION_TYPE: on-demand, or provisioned-concurrency.
    public var initializationType = "on-demand"
    /// LoggingConfig: the log group, and the format and level runtimes are told.
    public var logging = LoggingConfig.text

    public init(name: String, code: Code, layers: [String] = [], memoryMB: Int = 128, timeoutSeconds: Int = 3,
                environment: [(String, String)] = []) {
        self.name = name
        self.code = code
        self.layers = layers
        self.memoryMB = memoryMB
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }
}

/// No executable bootstrap where Lambda looks for one (Runtime.InvalidEntrypoint).
public struct InvalidEntrypoint: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Turns a definition into a runnable instance: Lambda's ranges checked,
/// packages imported, bootstrap found, environment and sandbox spec built.
public struct FunctionBuilder: Sendable {
    public let store: PackageStore
    /// Where scripts/build-images put the runtime images.
    public let imagesDirectory: String
    /// Runtime images and zips already imported, so a rebuild does not check them again.
    let importCache = ImportCache()

    public init(store: PackageStore, imagesDirectory: String) {
        self.store = store
        self.imagesDirectory = imagesDirectory
    }

    public func build(_ definition: FunctionDefinition) throws -> FunctionInstance {
        let memory = definition.memoryMB, timeout = definition.timeoutSeconds
        let memoryMB = LambdaLimits.memoryMB, timeoutSeconds = LambdaLimits.timeoutSeconds
        guard memoryMB.contains(memory) else {
            throw HearthError.invalidLimit("memory must be between \(memoryMB.lowerBound) and \(memoryMB.upperBound) MB, got \(memory)")
        }
        guard timeoutSeconds.contains(timeout) else {
            throw HearthError.invalidLimit("timeout must be between \(timeoutSeconds.lowerBound) and \(timeoutSeconds.upperBound) seconds, got \(timeout)")
        }
        try LambdaEnvironment.validateUserVariables(definition.environment)

        let assembler = PackageAssembler(store: store, cache: importCache)
        let assembled: PackageAssembler.Assembled
        let command: [String]
        var context: LambdaEnvironment.Context
        var runtimeEnvironment: [(String, String)] = []
        let stream = LogStreamName.random(version: definition.version, startedAt: Int64(time(nil)))
        switch definition.code {
        case .zip(let zip, let runtime, let handler):
            let info = try RuntimeCatalog.lookup(runtime)
            let layout = imagesDirectory + "/" + info.image
            guard FileManager.default.fileExists(atPath: layout + "/index.json") else {
                throw HearthError.invalidArgument("runtime image '\(info.image)' is not built in \(imagesDirectory): run scripts/build-images \(info.image)")
            }
            assembled = try assembler.assemble(image: layout, zip: zip, layers: definition.layers)
            let task = assembled.binds.first { $0.target == "/var/task" }?.sources.first
            let opt = assembled.binds.first { $0.target == "/opt" }.map { Array($0.sources.reversed()) } ?? []
            guard let bootstrap = BootstrapResolver.resolve(task: task, opt: opt, root: assembled.rootLayers) else {
                throw InvalidEntrypoint(message: "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap /var/runtime/bootstrap]")
            }
            // AWS_LAMBDA_EXEC_WRAPPER: a managed runtime's start command is handed to the wrapper script as
            // its arguments (custom runtimes start their bootstrap themselves, as on Lambda).
            if info.executionEnvironment != nil, let wrapper = definition.environment.last(where: { $0.0 == "AWS_LAMBDA_EXEC_WRAPPER" })?.1, !wrapper.isEmpty {
                command = [wrapper, bootstrap]
            } else {
                command = [bootstrap]
            }
            context = .init(functionName: definition.name, memoryMB: memory, handler: handler,
                            executionEnvironment: info.executionEnvironment, logStreamName: stream)
            runtimeEnvironment = info.extraEnvironment
        case .image, .storedImage:
            let source: PackageAssembler.ImageSource = if case .image(let path) = definition.code { .path(path) } else if case .storedImage(let d) = definition.code { .stored(d) } else { .path("") }
            assembled = try assembler.assemble(image: source, zip: nil, layers: definition.layers)
            let override = definition.imageOverride
            let cmd = override.command ?? assembled.config.cmd ?? []
            command = (override.entryPoint ?? assembled.config.entrypoint ?? []) + cmd
            guard !command.isEmpty else { throw InvalidEntrypoint(message: "the image has no ENTRYPOINT or CMD") }
            context = .init(functionName: definition.name, memoryMB: memory, handler: cmd.last,
                            executionEnvironment: "AWS_Lambda_Image", logStreamName: stream)
        }
        context.version = definition.version
        context.initializationType = definition.initializationType
        context.logging = definition.logging
        let environment = LambdaEnvironment.build(context, image: try assembled.config.environment() + runtimeEnvironment,
                                                  user: definition.environment)
        let workingDirectory: String = if case .zip = definition.code { "/var/task" } else {
            definition.imageOverride.workingDirectory ?? assembled.config.workingDir ?? "/var/task"
        }
        let ids = SandboxIdentity.oneShot()
        var spec = SandboxSpec(
            id: SandboxIdentity.newID(), layers: assembled.rootLayers, binds: assembled.binds, command: command,
            environment: environment, workingDirectory: workingDirectory, hostname: "hearth",
            limits: ResourceLimits(memoryMB: memory, timeoutSeconds: nil, pids: 1024, tmpSizeMB: definition.ephemeralStorageMB),
            uid: ids.uid, gid: ids.gid)
        spec.burstCPUAtStart = true
        try spec.validate()
        var instance = FunctionInstance(name: definition.name, version: definition.version, spec: spec, timeoutSeconds: Double(timeout))
        instance.useLogStream(stream)
        return instance
    }
}
