// The zip central-directory reader (libzip through ZipArchive) on arbitrary bytes in an in-memory file:
// open, list, and stream every entry (at most 1 MiB of each); sizes are enforced and names are reported as
// stored.
import FuzzSupport
@testable import ModelSyncKit

/// libFuzzer runs inputs one at a time on one thread, so one scratch file serves every input.
nonisolated(unsafe) let scratch = MemoryFile(name: "fuzz-zip")

/// Reading stops after this many bytes of an entry: a hostile size must not make one input take seconds.
let readLimit = 1 << 20

/// Thrown from the read callback to stop streaming an entry at `readLimit`.
struct EnoughRead: Error {}

runFuzzer { start, count in
    scratch.write(fuzzBytes(start, count))
    guard let archive = try? ZipArchive(path: scratch.path) else { return 0 }
    for (position, entry) in archive.entries.enumerated() {
        invariant(entry.index == position, "entry \(position) says it is at index \(entry.index)")
        // Names are reported exactly as stored (a NUL byte included: libzip's own reading would turn it into
        // a space); the shared name rules must then refuse any name that holds one.
        if entry.rawName.contains(0) {
            invariant(ManifestPath.problem(withBytes: entry.rawName) != nil, "a name with a NUL byte passes the name rules")
        }
        _ = ManifestPath.problem(with: entry.name)
        _ = entry.unixMode
        // Streamed whatever size it declares: the size checks in read(entry:into:) see every declared value.
        var read = 0
        do {
            try archive.read(entry: entry) { chunk in
                read += chunk.count
                if read >= readLimit { throw EnoughRead() }
            }
            invariant(UInt64(read) == entry.size, "read \(read) bytes of an entry declaring \(entry.size)")
        } catch is EnoughRead {
            invariant(entry.size >= UInt64(read), "read \(read) bytes of an entry declaring \(entry.size)")
        } catch {
            continue
        }
    }
    return 0
}
