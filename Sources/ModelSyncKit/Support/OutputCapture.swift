#if canImport(Glibc)
internal import Glibc
#endif

/// Two pipes that collect a child's stdout and stderr, read without blocking while the parent waits for it.
///
/// Each stream keeps at most its last ``keptBytes`` bytes, so a chatty training run cannot fill memory; the
/// report keeps far less, after scrubbing (a secret is never cut before it is replaced). With a forward
/// descriptor the output is instead copied there as it comes, scrubbed of secrets: only a tail that may be the
/// beginning of a secret (or of a UTF-8 character) waits for the bytes that follow it. Confined to the thread that runs the command (not Sendable).
final class OutputCapture {
    /// One of the two captured streams.
    enum Stream: Int {
        case stdout = 0, stderr = 1
    }

    /// The tail kept of each stream before scrubbing.
    static let keptBytes = 1 << 20

    /// Read and write ends of the two pipes, -1 once closed.
    private var readEnds: [Int32] = [-1, -1]
    private var writeEnds: [Int32] = [-1, -1]
    private var buffers: [[UInt8]] = [[], []]
    /// Where output is copied as it comes (our stderr), or nil.
    private let forward: Int32?
    /// Bytes read but not forwarded yet: the unfinished line of each stream.
    private var pending: [[UInt8]] = [[], []]

    /// Opens the two pipes (close-on-exec: the child sees only the ends duplicated onto its 1 and 2); with
    /// `forward`, output is copied there, scrubbed, as it comes.
    init(forward: Int32? = nil) throws {
        self.forward = forward
        for stream in [Stream.stdout, .stderr] {
            var ends: [Int32] = [-1, -1]
            // pipe2(O_CLOEXEC) is not visible to Swift's Glibc module, so the flag is set right after. A spawn
            // on another thread in between could inherit an end; that only delays an end of file this type
            // never waits for.
            guard pipe(&ends) == 0 else {
                let failure = IOError.current("pipe", "a configured command's output")
                closeAll()
                throw failure
            }
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
            readEnds[stream.rawValue] = ends[0]
            writeEnds[stream.rawValue] = ends[1]
        }
    }

    deinit { closeAll() }

    /// The write end the child's `stream` is duplicated from.
    func writeEnd(_ stream: Stream) -> Int32 { writeEnds[stream.rawValue] }

    /// Closes the parent's write ends once the child has its copies, so a read sees the end of the output.
    func closeWriteEnds() {
        for index in writeEnds.indices where writeEnds[index] >= 0 {
            close(writeEnds[index])
            writeEnds[index] = -1
        }
    }

    /// Reads whatever both pipes hold, waiting at most `milliseconds` for the first byte.
    func drain(waitingUpTo milliseconds: Int32) {
        var descriptors = readEnds.filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard !descriptors.isEmpty else {
            if milliseconds > 0 { usleep(UInt32(milliseconds) * 1000) }
            return
        }
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
        for stream in [Stream.stdout, .stderr] { readAvailable(stream) }
    }

    /// The stream's captured text (invalid UTF-8 repaired); empty when the output was forwarded.
    func text(of stream: Stream) -> String {
        String(decoding: buffers[stream.rawValue], as: UTF8.self)
    }

    /// Forwards what is still held back, at the end of the command.
    func flush() {
        for stream in [Stream.stdout, .stderr] { forwardPending(stream, final: true) }
    }

    /// Scrubs the stream's pending bytes and forwards them, except (unless `final`) a tail that could still
    /// become a secret or a character with the next read; that tail stays pending, already scrubbed.
    private func forwardPending(_ stream: Stream, final: Bool) {
        let bytes = pending[stream.rawValue]
        guard !bytes.isEmpty else { return }
        let incomplete = final ? 0 : Self.incompleteUTF8Tail(bytes)
        let whole = bytes[..<(bytes.count - incomplete)]
        let scrubber = SecretScrubber.shared
        let scrubbed = Array(scrubber.scrub(String(decoding: whole, as: UTF8.self)).utf8)
        let held = final ? 0 : Self.possibleSecretStart(at: scrubbed, secrets: scrubber.secrets)
        write(scrubbed[..<(scrubbed.count - held)])
        pending[stream.rawValue] = Array(scrubbed[(scrubbed.count - held)...]) + bytes[(bytes.count - incomplete)...]
    }

    /// The length of the longest end of `bytes` that is the beginning of a secret.
    static func possibleSecretStart(at bytes: [UInt8], secrets: [String]) -> Int {
        var longest = 0
        for secret in secrets {
            let prefix = Array(secret.utf8)
            for length in stride(from: min(prefix.count - 1, bytes.count), to: longest, by: -1)
            where bytes[(bytes.count - length)...].elementsEqual(prefix[..<length]) {
                longest = length
                break
            }
        }
        return longest
    }

    /// How many bytes at the end of `bytes` start a UTF-8 sequence that is not complete yet (0 to 3).
    static func incompleteUTF8Tail(_ bytes: [UInt8]) -> Int {
        guard !bytes.isEmpty else { return 0 }
        for back in 1...min(3, bytes.count) {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 == 0x80 { continue }
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            return needed > back ? back : 0
        }
        return 0
    }

    private func write(_ bytes: ArraySlice<UInt8>) {
        guard let forward, !bytes.isEmpty else { return }
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let written = bytes.withUnsafeBytes { Glibc.write(forward, $0.baseAddress! + (offset - bytes.startIndex),
                                                              bytes.endIndex - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    private func readAvailable(_ stream: Stream) {
        let descriptor = readEnds[stream.rawValue]
        guard descriptor >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                if forward != nil {
                    pending[stream.rawValue].append(contentsOf: chunk[0..<count])
                    forwardPending(stream, final: false)
                } else {
                    buffers[stream.rawValue].append(contentsOf: chunk[0..<count])
                    let excess = buffers[stream.rawValue].count - Self.keptBytes
                    if excess > 0 { buffers[stream.rawValue].removeFirst(excess) }
                }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count == 0 {
                close(descriptor)
                readEnds[stream.rawValue] = -1
            }
            return
        }
    }

    private func closeAll() {
        for descriptor in readEnds + writeEnds where descriptor >= 0 { close(descriptor) }
        readEnds = [-1, -1]
        writeEnds = [-1, -1]
    }
}
