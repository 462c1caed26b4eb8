import ArgumentParser
import ModelSyncKit

struct ImportCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Hash a folder into the store and record its manifest, without activating it.",
        discussion: """
            Prints the manifest digest; `model-sync activate DIGEST` makes it the active set. Files unchanged \
            since the last import (same inode, size and times) are not read again.

            Example: model-sync import ./trained-models --store /srv/bot/.model-sync
            """)

    @Argument(help: ArgumentHelp("The folder to import (default: the models folder).", valueName: "dir"))
    var directory: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let result = try store.importDirectory(directory ?? workspace.modelsDir, filtered: true,
                                               progress: output.progressHandler())
        output.excluded(result.excluded)
        output.result(ImportOutput(manifest: result.manifest, files: result.files, bytes: result.bytes,
                                   newObjects: result.newObjects, newBytes: result.newBytes, excluded: result.excluded),
                      text: global.verbose
            ? "\(result.manifest)\n\(result.files) files, \(Output.bytes(result.bytes)); \(result.newObjects) new objects (\(Output.bytes(result.newBytes))), \(result.cachedFiles) unchanged files not re-read"
            : result.manifest.description)
    }
}

/// `import --json`: the counts are of file blobs only; the manifest object is not counted.
struct ImportOutput: Encodable {
    let manifest: Digest
    let files: Int
    let bytes: UInt64
    let newObjects: Int
    let newBytes: UInt64
    /// Files left out of the set: `{path, pattern, secret}`.
    let excluded: [ModelSetExclusion]

    enum CodingKeys: String, CodingKey {
        case manifest, files, bytes, excluded
        case newObjects = "new_objects"
        case newBytes = "new_bytes"
    }
}
