import Foundation

/// The text a git remote sends on its sideband during a push (what `git push` prints as `remote: …`): a
/// pre-receive hook's or a host rule's own explanation of a refusal, which libgit2 would otherwise drop.
///
/// Progress meters (`Resolving deltas:  50% (1/2)`), redrawn with carriage returns, are left out; the text is
/// capped so a chatty or hostile remote cannot grow memory.
struct RemoteMessages {
    /// The most bytes kept; later text is dropped.
    static let maxBytes = 16 << 10
    /// The most lines reported.
    static let maxLines = 20

    private var bytes: [UInt8] = []

    /// Adds a chunk as libgit2 hands it over (lines may be split across chunks).
    mutating func append(_ chunk: UnsafeBufferPointer<UInt8>) {
        let room = Self.maxBytes - bytes.count
        guard room > 0 else { return }
        bytes.append(contentsOf: chunk.prefix(room))
    }

    /// Adds text (tests).
    mutating func append(_ text: String) {
        Array(text.utf8).withUnsafeBufferPointer { append($0) }
    }

    /// The remote's lines, without progress meters, control characters or empty lines, at most ``maxLines``
    /// (the last ones: a refusal comes at the end).
    var lines: [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        let pieces = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { piece in
            String(piece.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init))
                .trimmingCharacters(in: .whitespaces)
        }
        var kept: [String] = []
        for line in pieces where !line.isEmpty && !Self.isProgress(line) && kept.last != line {
            kept.append(line)
        }
        return Array(kept.suffix(Self.maxLines))
    }

    /// `Counting objects:  33% (1/3)`, `Resolving deltas: 100% (2/2), done.`: git's meters.
    static func isProgress(_ line: String) -> Bool {
        guard let colon = line.firstIndex(of: ":") else { return false }
        let rest = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard let percent = rest.firstIndex(of: "%") else { return false }
        return !rest[..<percent].isEmpty && rest[..<percent].allSatisfy(\.isNumber)
    }

    /// The lines as git prints them (`remote: <line>`, one per line), or nil when the remote said nothing.
    var quoted: String? {
        let lines = self.lines
        return lines.isEmpty ? nil : lines.map { "remote: " + $0 }.joined(separator: "\n")
    }
}
