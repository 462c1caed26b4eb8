#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

extension ObjectStore {
    /// Throws `IntegrityError(.sizeMismatch)` when the stored object `entry` names is not `entry.size` bytes
    /// long; an absent object passes (whoever fetches it checks its size on the way in).
    ///
    /// A manifest that lies about the size of a blob the store already holds would otherwise be recorded and
    /// activated with files of another size than it lists (`status`, `fsck` and the next client would disagree).
    func checkSize(of entry: ManifestEntry) throws {
        let path = self.path(of: entry.digest)
        guard let info = try FileSystem.linkStatus(path) else { return }
        guard UInt64(info.st_size) == entry.size else {
            throw IntegrityError(
                .sizeMismatch,
                "manifest entry \(CanonicalJSON.quoted(entry.path)) says \(entry.size) bytes, but object "
                    + "\(entry.digest) holds \(info.st_size)",
                hint: "the manifest is wrong: fetch or import the set again; `model-sync fsck` checks the store")
        }
    }

    /// ``checkSize(of:)`` for every distinct blob of `manifest`.
    func checkSizes(of manifest: Manifest) throws {
        var seen = Set<Digest>()
        for entry in manifest.files where seen.insert(entry.digest).inserted { try checkSize(of: entry) }
    }
}
