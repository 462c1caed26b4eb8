import ArgumentParser
import ModelSyncKit

struct PackCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Write a delta archive of a models folder: its manifest and the blobs a client lacks.",
        discussion: """
            The worker side of runpod-pull. The archive holds manifest.json and objects/sha256/<ab>/<hex> for \
            every blob not listed in --have (a JSON array of digests, or one digest per line). The same folder \
            and list always give the same bytes. Prints the archive's sha256, size and manifest digest.

            Example: model-sync pack --models-dir /workspace/models --archive-path /tmp/models.zip --have have.json
            """)

    @Option(name: .customLong("archive-path"), help: ArgumentHelp("Where to write the archive.", valueName: "file"))
    var archivePath: String

    @Option(name: .customLong("have"), help: ArgumentHelp("Digests the client already has: a JSON array, or one per line.", valueName: "file"))
    var have: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let haveList = try have.map { try Packer.readHaveList(at: $0) } ?? []
        let result = try Packer().pack(modelsDir: workspace.modelsDir, to: archivePath, have: haveList,
                                       signer: try workspace.releaseSigner(), progress: output.progressHandler())
        output.excluded(result.excluded)
        output.result(PackOutput(result), text: "\(result.archive): \(Output.bytes(result.archiveSize)), \(result.objects) objects, "
            + "sha256 \(result.archiveSHA256.hex)\nmanifest \(result.manifest)")
    }
}

/// `pack --json`.
struct PackOutput: Encodable {
    let archive: String
    let archiveSHA256: Digest
    let archiveSize: UInt64
    let manifest: Digest
    let objects: Int
    let objectBytes: UInt64
    /// Files left out of the set: `{path, pattern, secret}`.
    let excluded: [ModelSetExclusion]

    enum CodingKeys: String, CodingKey {
        case archive, manifest, objects, excluded
        case archiveSHA256 = "archive_sha256"
        case archiveSize = "archive_size"
        case objectBytes = "object_bytes"
    }

    init(_ result: PackResult) {
        archive = result.archive
        archiveSHA256 = result.archiveSHA256
        archiveSize = result.archiveSize
        manifest = result.manifest
        objects = result.objects
        objectBytes = result.objectBytes
        excluded = result.excluded
    }
}
