// The JSON value parser behind RunPod's responses, and what model-sync reads from a job's status document
// (status, id, the error field unwrapped, and the output fields of the archive). Whatever parses must
// serialize to JSON that parses again.
import Foundation
import FuzzSupport
@testable import ModelSyncKit

/// Reads a status document the way `RunPodClient.status(of:)` and `RunPodPuller` do after the HTTP request.
func interpretStatus(_ document: JSONValue) {
    guard case .object = document, let status = document["status"]?.stringValue else { return }
    let job = RunPodJob(id: document["id"]?.stringValue ?? "job", status: RunPodJob.Status(rawValue: status),
                        output: document["output"], error: RunPodJob.errorText(document["error"]))
    _ = job.status.isFinal
    guard let output = job.output, case .object = output else { return }
    _ = output["archive_size"]?.integerValue.map { UInt64(max(0, $0)) }
    _ = output["manifest"]?.stringValue.flatMap { try? Digest(parsing: $0, allowBareHex: true) }
    _ = output["archive_sha256"]?.stringValue.flatMap { try? Digest(parsing: $0, allowBareHex: true) }
    if let encoded = output["archive_base64"]?.stringValue { _ = Data(base64Encoded: encoded) }
}

runFuzzer { start, count in
    let bytes = fuzzBytes(start, count)
    guard let value = try? JSONValue.decode(bytes) else {
        _ = RunPodJob.errorText(.string(String(decoding: bytes, as: UTF8.self)))
        return 0
    }
    interpretStatus(value)
    _ = value.integerValue
    let written = value.jsonBytes()
    invariant((try? JSONValue.decode(written)) != nil,
              "a parsed value serializes to text that does not parse: \(String(decoding: written, as: UTF8.self))")
    return 0
}
