internal import CModelSyncCrypto

/// Errors from OpenSSL, with the whole error queue drained into the message.
public struct CryptoError: ModelSyncError {
    /// What failed, with OpenSSL's queued messages.
    public let message: String
    /// OpenSSL failing is never the user's doing.
    public var category: ErrorCategory { .unexpected }

    /// Reads and clears this thread's OpenSSL error queue
    /// ([ERR_get_error](https://www.openssl.org/docs/man3.0/man3/ERR_get_error.html)).
    static func drainQueue() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
    }
}
