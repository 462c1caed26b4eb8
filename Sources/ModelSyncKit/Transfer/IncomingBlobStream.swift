import Foundation

/// Thrown into a transfer that another transfer's failure cancelled; never leaves the client that runs the
/// workers, since the first failure is what ``TransferWorkers`` rethrows.
struct TransferCancelled: Error {}

/// An ``IncomingBlob`` as the HTTP layer's stream target, stopping when another transfer failed.
final class IncomingBlobStream: HTTPStreamSink {
    private let blob: IncomingBlob
    private let workers: TransferWorkers

    init(blob: IncomingBlob, workers: TransferWorkers) {
        self.blob = blob
        self.workers = workers
    }

    var written: UInt64 { blob.written }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        if workers.isCancelled { throw TransferCancelled() }
        try blob.write(chunk)
    }

    func restart() throws {
        try blob.restart()
    }
}
