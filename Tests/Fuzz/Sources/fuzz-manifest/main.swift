// Manifest.decode on arbitrary bytes: it must refuse or return a manifest whose canonical encoding is
// exactly the input, whose digest is the input's SHA-256, and which every other constructor agrees with.
import FuzzSupport
@testable import ModelSyncKit

runFuzzer { start, count in
    let bytes = fuzzBytes(start, count)
    guard let manifest = try? Manifest.decode(bytes) else { return 0 }
    invariant(manifest.canonicalBytes == bytes, "a decoded manifest re-encodes to other bytes")
    invariant(manifest.digest == SHA256.hash(bytes), "the manifest's digest is not the SHA-256 of its bytes")
    invariant((try? Manifest.decode(bytes, expecting: manifest.digest)) == manifest,
              "decoding under its own digest fails")
    guard let rebuilt = try? Manifest(files: manifest.files) else {
        invariant(false, "Manifest(files:) refuses the files of a decoded manifest")
        return 0
    }
    invariant(rebuilt.canonicalBytes == bytes, "Manifest(files:) encodes the decoded files differently")
    for entry in manifest.files {
        invariant(ManifestPath.problem(with: entry.path) == nil, "a decoded path is invalid: \(entry.path)")
        invariant(entry.size <= Manifest.maxFileSize, "a decoded size is over the maximum")
    }
    _ = manifest.totalBytes
    return 0
}
