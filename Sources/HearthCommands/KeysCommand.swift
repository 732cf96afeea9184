import ArgumentParser
import Foundation
import HearthAuth
import HearthModel

/// `hearth keys`: the access keys clients sign the API's requests with (SigV4).
public struct KeysCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make, list and delete the access keys clients sign requests with.",
        discussion: "Keys live in STATE_DIR/access-keys.json (root only); a running daemon sees a change within a second.",
        subcommands: [Create.self, List.self, Delete.self])

    public init() {}

    struct Location: ParsableArguments {
        @Option(name: .customLong("state-dir"), help: "The daemon's state directory (default: state_dir in /etc/hearth/hearth.yaml, else /var/lib/hearth).")
        var stateDirectory: String?

        func file() throws -> AccessKeyFile {
            var configured: String?
            let config = "/etc/hearth/hearth.yaml"
            if stateDirectory == nil, let data = FileManager.default.contents(atPath: config) {
                configured = try ServeConfiguration.parse(String(decoding: data, as: UTF8.self), file: config).stateDirectory
            }
            return AccessKeyFile(stateDirectory: try SandboxRunCommand.stateDirectory(stateDirectory ?? configured))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key; its secret is shown this once.")
        @OptionGroup var location: Location
        @Option(help: "What the key is for.") var description = ""

        func run() throws {
            guard description.utf8.count <= 256, !description.contains(where: \.isNewline) else {
                throw ValidationError("--description must be one line of at most 256 bytes")
            }
            let key = try location.file().create(description: description)
            print("AccessKeyId:     \(key.id)")
            print("SecretAccessKey: \(key.secret)")
            print("\nFor clients: AWS_ACCESS_KEY_ID=\(key.id) AWS_SECRET_ACCESS_KEY=\(key.secret)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The keys: id, when made, what for (never the secret).")
        @OptionGroup var location: Location

        func run() throws {
            for key in try location.file().read() {
                print("\(key.id)  \(key.created)  \(key.description)")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key: requests signed with it are refused within a second.")
        @OptionGroup var location: Location
        @Argument(help: "The access key id.") var id: String

        func run() throws {
            guard try location.file().delete(id: id) else {
                throw ValidationError("no access key \(id)")
            }
            print("deleted \(id)")
        }
    }
}
