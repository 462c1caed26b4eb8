#if canImport(Glibc)
internal import Glibc
#endif

/// Two pipes that collect a child's stdout and stderr, read without blocking while the parent waits for it.
///
/// Each stream keeps at most its last ``keptBytes`` bytes, so a chatty training run cannot fill memory; the
/// report keeps far less, after scrubbing (a secret is never cut before it is replaced). With a forward
/// descriptor the output is also copied there as it comes, a line at a time (or a `\r`-ended progress line),
/// scrubbed of secrets. Confined to the thread that runs the command (not Sendable).
final class OutputCapture {
    /// One of the two captured streams.
    enum Stream: Int {
        case stdout = 0, stderr = 1
    }

    /// The tail kept of each stream before scrubbing.
    static let keptBytes = 1 << 20

    /// A line longer than this is forwarded in pieces, all but the last ``heldBackBytes`` of it at once.
    static let longestLine = 64 * 1024
    /// What a piece of a long line keeps back, so that a secret shorter than this is never split by forwarding.
    static let heldBackBytes = 4 * 1024

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
        for stream in [Stream.stdout, .stderr] where !pending[stream.rawValue].isEmpty {
            emit(pending[stream.rawValue])
            pending[stream.rawValue] = []
        }
    }

    /// Forwards the complete lines of `stream`'s pending bytes (and most of an overlong one).
    private func forwardLines(_ stream: Stream) {
        let bytes = pending[stream.rawValue]
        var cut = (bytes.lastIndex { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }).map { $0 + 1 } ?? 0
        if cut == 0, bytes.count > Self.longestLine { cut = bytes.count - Self.heldBackBytes }
        guard cut > 0 else { return }
        emit(Array(bytes[..<cut]))
        pending[stream.rawValue].removeFirst(cut)
    }

    private func emit(_ bytes: [UInt8]) {
        guard let forward else { return }
        let text = SecretScrubber.shared.scrub(String(decoding: bytes, as: UTF8.self))
        var data = Array(text.utf8)
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeMutableBytes { write(forward, $0.baseAddress! + offset, $0.count - offset) }
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
                    forwardLines(stream)
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
