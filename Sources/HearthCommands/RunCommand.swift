import ArgumentParser
import Foundation
import HearthExecution
import HearthModel
import HearthPackages
import HearthRegistry
import HearthSandbox
import HearthSupervisor

/// `hearth run`: one cold invocation without a daemon, like `sam local invoke`.
public struct RunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Invoke a function once, cold, without a daemon.",
        discussion: """
            The function's result goes to stdout, its log (START, END, REPORT) to stderr. \
            Exit status: 0 success, 1 function error (the error document is on stdout), 2 bad usage.
            """)

    @Option(help: "Lambda zip package with the function's code.") var zip: String?
    @Option(help: "Runtime for a zip: \(RuntimeCatalog.names.map(\.0).joined(separator: ", ")).") var runtime: String?
    @Option(help: "Handler, e.g. app.handler (zip functions).") var handler: String?
    @Option(help: "Container image (OCI layout DIR[:TAG], OCI archive, docker save tarball).") var image: String?
    @Option(help: "Event JSON file, or - for stdin (default: {}).") var event: String?
    @Option(help: "Memory in MB (128-10240).") var memory = 128
    @Option(help: "Timeout in seconds (1-900).") var timeout = 3
    @Option(name: .customLong("env"), help: "Environment variable KEY=VALUE (repeatable).") var environment: [String] = []
    @Option(name: .customLong("layer"), help: "Lambda layer zip, mounted at /opt (repeatable, later on top).") var layers: [String] = []
    @Option(help: "Function name.") var name = "function"
    @Option(name: .customLong("state-dir"), help: "Where packages are kept (default: HEARTH_STATE_DIR or /var/lib/hearth).") var stateDirectory: String?
    @Option(name: .customLong("images-dir"), help: "Runtime images (default: HEARTH_IMAGES_DIR or /var/lib/hearth/images).") var imagesDirectory: String?

    public init() {}

    public func run() throws {
        let function: FunctionInstance
        let payload: [UInt8]
        do {
            (function, payload) = try prepare()
        } catch let error as InvalidEntrypoint {
            print(String(decoding: LambdaErrors.document(type: "Runtime.InvalidEntrypoint", message: error.message), as: UTF8.self))
            throw ExitCode(1)
        } catch let error as HearthError {
            printError("hearth: \(error)")
            throw ExitCode(2)
        } catch let error as PackageError {
            printError("hearth: \(error)")
            throw ExitCode(2)
        }
        let log = InvocationLog(sink: { bytes in _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) } })
        let result: InvocationResult
        do {
            let invoker = ColdInvoker(engine: try HostEngine.make(shareRoots: false, scopePrefix: "hearth-run"))
            result = try blockingRun { try await invoker.invoke(function, payload: payload, log: log) }
        } catch {
            printError("hearth: \(error)")
            throw ExitCode(1)
        }
        switch result.body {
        case .success(let bytes):
            FileHandle.standardOutput.write(Data(bytes + (bytes.last == UInt8(ascii: "\n") ? [] : [10])))
        case .error(let document, _):
            FileHandle.standardOutput.write(Data(document + [10]))
            throw ExitCode(1)
        }
    }

    func prepare() throws -> (FunctionInstance, [UInt8]) {
        let code: FunctionDefinition.Code
        switch (zip, image) {
        case (let zip?, nil):
            guard let runtime, let handler else { throw HearthError.invalidArgument("a zip function needs --runtime NAME and --handler H") }
            code = .zip(path: zip, runtime: runtime, handler: handler)
        case (nil, let image?):
            code = .image(image)
        default:
            throw HearthError.invalidArgument("give either --zip FILE --runtime NAME --handler H, or --image PATH")
        }
        var user: [(String, String)] = []
        for pair in environment {
            guard let eq = pair.firstIndex(of: "=") else { throw HearthError.invalidArgument("--env expects KEY=VALUE, got '\(pair)'") }
            user.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        let payload = try readEvent()
        let definition = FunctionDefinition(name: name, code: code, layers: layers, memoryMB: memory, timeoutSeconds: timeout, environment: user)
        let store = try PackageStore(root: SandboxRunCommand.stateDirectory(stateDirectory) + "/store")
        let images = SandboxRunCommand.imagesDirectory(imagesDirectory)
        let function = try FunctionBuilder(store: store, imagesDirectory: images).build(definition)
        return (function, payload)
    }

    func readEvent() throws -> [UInt8] {
        guard let event else { return Array("{}".utf8) }
        let data: Data?
        if event == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: event)
        }
        guard let data else { throw HearthError.invalidArgument("cannot read the event file \(event)") }
        guard data.count <= 6 * 1024 * 1024 else {
            throw HearthError.invalidArgument("the event is \(data.count) bytes; Lambda's synchronous limit is 6291456")
        }
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw HearthError.invalidArgument("the event in \(event == "-" ? "stdin" : event) is not valid JSON")
        }
        return Array(data)
    }
}
