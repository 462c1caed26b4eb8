import Foundation

/// An upload session the registry opened (`POST /v2/<name>/blobs/uploads/`): where to send the next
/// bytes, and how many it holds.
struct OCIUploadSession: Sendable, Equatable {
    /// The absolute URL of the session, as the registry's last `Location` named it.
    var location: String
    /// The bytes the registry holds (the next chunk starts here).
    var offset: UInt64

    /// The URL that completes the session: `location` with `digest=<digest>` added to its query.
    func appending(digest: Digest) -> String {
        let base = location.hasSuffix("?") || location.hasSuffix("&") ? String(location.dropLast()) : location
        return base + (base.contains("?") ? "&" : "?") + "digest=\(digest)"
    }

    /// The bytes a `Range` header of an upload answer says the registry holds: `0-<last byte>` (some
    /// registries write `bytes=0-…`). `0-0` is ambiguous (distribution writes it for an empty session as well
    /// as for one byte): it counts as `confirmed` when that is 0 or 1, else as 0 (the registry lost what it
    /// had confirmed; a byte too many would only fail the digest check and start the blob over).
    static func received(range header: String?, confirmed: UInt64) -> UInt64? {
        guard var text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.hasPrefix("bytes=") { text.removeFirst("bytes=".count) }
        let parts = text.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let start = UInt64(parts[0]), let end = UInt64(parts[1]), start == 0 else { return nil }
        if end == 0 { return confirmed <= 1 ? confirmed : 0 }
        return end + 1
    }
}

/// Thrown inside an upload when its session can no longer be trusted (dropped, refused, gone): the upload
/// starts again from a fresh session, or `error` is thrown when the attempts are spent.
struct OCIUploadInterrupted: Error {
    let error: OCIError
}

/// A chunk whose transfer broke (connection, stall, a 5xx mid-chunk): the session's state is read back and
/// the upload resumes from the registry's offset.
struct OCIChunkDropped: Error {
    let error: OCIError
}
