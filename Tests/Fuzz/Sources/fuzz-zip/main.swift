// The zip central-directory reader (libzip through ZipArchive) on arbitrary bytes in an in-memory file:
// open, list, and read every entry small enough; sizes are enforced and names are reported as stored.
import FuzzSupport
@testable import ModelSyncKit

/// libFuzzer runs inputs one at a time on one thread, so one scratch file serves every input.
nonisolated(unsafe) let scratch = MemoryFile(name: "fuzz-zip")

/// Entries declaring more are not read: a hostile size must not make one input take seconds.
let readLimit: UInt64 = 1 << 20

runFuzzer { start, count in
    scratch.write(fuzzBytes(start, count))
    guard let archive = try? ZipArchive(path: scratch.path) else { return 0 }
    for (position, entry) in archive.entries.enumerated() {
        invariant(entry.index == position, "entry \(position) says it is at index \(entry.index)")
        invariant(!entry.rawName.contains(0), "a raw name holds a NUL byte")
        invariant(entry.name == String(decoding: entry.rawName, as: UTF8.self), "name and raw name disagree")
        _ = ManifestPath.problem(with: entry.name)
        _ = entry.unixMode
        guard entry.size <= readLimit, let data = try? archive.contents(of: entry, limit: readLimit) else { continue }
        invariant(UInt64(data.count) == entry.size, "read \(data.count) bytes of an entry declaring \(entry.size)")
    }
    return 0
}
