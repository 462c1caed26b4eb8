// The `have` list reader of `pack --have` (a JSON array of digests, or one digest per line) on arbitrary
// bytes in an in-memory file: a set of digests or a usage error, and every digest it returns is well formed.
import FuzzSupport
@testable import ModelSyncKit

/// libFuzzer runs inputs one at a time on one thread, so one scratch file serves every input.
nonisolated(unsafe) let scratch = MemoryFile(name: "fuzz-have-list")

runFuzzer { start, count in
    scratch.write(fuzzBytes(start, count))
    guard let digests = try? Packer.readHaveList(at: scratch.path) else { return 0 }
    for digest in digests {
        invariant((try? Digest(parsing: digest.description)) == digest, "a read digest does not parse back")
    }
    return 0
}
