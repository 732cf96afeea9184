import ArgumentParser
import CBenchSupport
import Foundation
import HearthCompare
import HearthPackages

/// `hearth-bench packages`: seconds to import a 50 MB zip and a 200 MB
/// three-layer image into a fresh store, next to unzip and tar extracting the
/// same files, interleaved in one run.
struct PackagesBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "packages", abstract: "Package import versus unzip and tar.")

    @Option(help: "Timed runs per method.") var runs = 5
    @Option(help: "Size of the zip in MB.") var zipMB = 50
    @Option(help: "Uncompressed size of the image in MB (three layers).") var imageMB = 200

    func run() throws {
        for tool in ["zip", "unzip", "tar"] where which(tool) == nil {
            throw ValidationError("\(tool) is missing: run scripts/setup")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-packages-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        let zipPath = work + "/function.zip"
        // Three files in four are incompressible: measured, this makes the zip itself about zipMB.
        try makeTree(work + "/zipsrc", megabytes: zipMB * 115 / 100, seed: 1, randomEvery: 4)
        try shell("cd \(work)/zipsrc && zip -q -r \(zipPath) .")
        let layout = work + "/image"
        let layers = try makeImage(layout, work: work, megabytes: imageMB)

        let zipSize = Double(attributes(zipPath)) / 1e6
        let imageSize = layers.reduce(0.0) { $0 + Double(attributes($1)) / 1e6 }
        print("# Package import: \(runs) runs each, interleaved; fresh store and target every run")
        print(String(format: "# zip: %.1f MB (%d MB of files); image: 3 gzip layers, %.1f MB (%d MB of files)", zipSize, zipMB * 115 / 100, imageSize, imageMB))
        print("")

        var samples: [String: [Double]] = [:]
        let methods: [(String, (String) throws -> Void)] = [
            ("hearth zip import", { dir in _ = try ZipImporter(store: try PackageStore(root: dir)).importZip(at: zipPath) }),
            ("unzip", { dir in try shell("unzip -q -o \(zipPath) -d \(dir)") }),
            ("hearth image import", { dir in _ = try ImageImporter(store: try PackageStore(root: dir)).importImage(layout) }),
            ("tar -xzf (3 layers)", { dir in for l in layers { try shell("tar -xzf \(l) -C \(dir)") } }),
        ]
        for round in 0..<(runs + 1) {
            for (name, body) in methods {
                let dir = work + "/out-\(round)-\(name.hashValue)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let t0 = Date()
                try body(dir)
                let seconds = Date().timeIntervalSince(t0)
                if round > 0 { samples[name, default: []].append(seconds) }  // round 0 warms the page cache
                try FileManager.default.removeItem(atPath: dir)
            }
        }
        print("| method | median s | p90 s |")
        print("|---|---|---|")
        for (name, _) in methods {
            let s = Sample(values: samples[name] ?? [])
            print(String(format: "| %@ | %.3f | %.3f |", name, s.median, s.p90))
        }
        let m = { (n: String) in Sample(values: samples[n] ?? []).median }
        print("")
        print(String(format: "hearth zip / unzip: %.2fx (budget: at most 1.5x)", m("hearth zip import") / m("unzip")))
        print(String(format: "hearth image / tar: %.2fx (budget: at most 1.5x)", m("hearth image import") / m("tar -xzf (3 layers)")))
        print("# hearth verifies every digest, checks each entry, and syncs the store before publishing; unzip and tar do none of that")
    }

    /// A tree of files of mixed sizes, partly incompressible (a third, or three in four), the rest text-like.
    private func makeTree(_ dir: String, megabytes: Int, seed: UInt64, randomEvery: Int = 3) throws {
        var rng = SplitMix64(seed: seed)  // the same bytes on every run
        var remaining = megabytes * 1_000_000
        var i = 0
        while remaining > 0 {
            let sub = dir + "/d\(i % 40)"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let size = min(remaining, [2_000, 20_000, 200_000, 1_000_000][Int(rng.next() % 4)])
            var bytes = [UInt8](repeating: 0, count: size)
            if (randomEvery == 3 && i % 3 == 0) || (randomEvery == 4 && i % 4 != 0) {
                for j in 0..<size { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                let words = Array("serverless sandbox hearth lambda function layer image ".utf8)
                for j in 0..<size { bytes[j] = words[(j + Int(rng.next() % 7)) % words.count] }
            }
            _ = FileManager.default.createFile(atPath: sub + "/f\(i)", contents: Data(bytes))
            remaining -= size
            i += 1
        }
    }

    /// An OCI layout with three gzip layers made by tar, and its JSON written here.
    private func makeImage(_ layout: String, work: String, megabytes: Int) throws -> [String] {
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        var layerDescriptors: [[String: Any]] = []
        var diffIDs: [String] = []
        var paths: [String] = []
        for n in 0..<3 {
            let src = work + "/layer\(n)"
            try makeTree(src + "/layer\(n)", megabytes: megabytes / 3, seed: UInt64(10 + n))
            try shell("tar -C \(src) -cf \(work)/layer\(n).tar . && gzip -k -6 \(work)/layer\(n).tar")
            let diff = try sha256(work + "/layer\(n).tar")
            let gz = work + "/layer\(n).tar.gz"
            let digest = try sha256(gz)
            let blob = layout + "/blobs/sha256/" + digest
            try FileManager.default.moveItem(atPath: gz, toPath: blob)
            paths.append(blob)
            diffIDs.append("sha256:" + diff)
            layerDescriptors.append(["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + digest, "size": attributes(blob)])
        }
        let config: [String: Any] = ["architecture": "amd64", "os": "linux", "config": ["Cmd": ["/bin/true"]],
                                     "rootfs": ["type": "layers", "diff_ids": diffIDs]]
        let configDescriptor = try writeBlob(layout, config, media: "application/vnd.oci.image.config.v1+json")
        let manifest: [String: Any] = ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "config": configDescriptor, "layers": layerDescriptors]
        let manifestDescriptor = try writeBlob(layout, manifest, media: "application/vnd.oci.image.manifest.v1+json")
        let index: [String: Any] = ["schemaVersion": 2, "manifests": [manifestDescriptor]]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
        return paths
    }

    private func writeBlob(_ layout: String, _ object: [String: Any], media: String) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: object)
        let tmp = layout + "/blob.tmp"
        try data.write(to: URL(fileURLWithPath: tmp))
        let digest = try sha256(tmp)
        try FileManager.default.moveItem(atPath: tmp, toPath: layout + "/blobs/sha256/" + digest)
        return ["mediaType": media, "digest": "sha256:" + digest, "size": data.count]
    }

    private func sha256(_ path: String) throws -> String {
        let out = try shell("sha256sum \(path)", capture: true)
        return String(out.prefix(64))
    }

    private func attributes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @discardableResult
    private func shell(_ command: String, capture: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let pipe = Pipe()
        if capture { p.standardOutput = pipe }
        try p.run()
        let data = capture ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("'\(command)' failed with \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
