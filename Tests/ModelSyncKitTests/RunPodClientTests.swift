import Foundation
import Testing
@testable import ModelSyncKit

@Suite("RunPodClient builds RunPod requests and decodes its answers")
struct RunPodClientTests {
    private func config() -> RunPodConfig {
        var config = RunPodConfig()
        config.enabled = true
        config.triggerURL = "https://api.runpod.ai/v2/abc/run"
        config.statusURLTemplate = "https://api.runpod.ai/v2/abc/status/{job_id}"
        config.headers = ["X-Team": "bots", "authorization": "Basic should-be-replaced"]
        return config
    }

    @Test("the payload keeps trigger_payload and adds input.model_sync with protocol 1 and the have list")
    func payload() throws {
        let have = [SHA256.hash(Array("a".utf8))]
        let base = JSONValue.object(["input": .object(["prompt": .string("train")]), "webhook": .string("https://x")])
        let payload = RunPodClient.payload(base, have: have)
        #expect(payload["webhook"] == .string("https://x"))
        #expect(payload["input"]?["prompt"] == .string("train"))
        #expect(payload["input"]?["model_sync"] == .object(["protocol": .int(1), "have": .array([.string(have[0].description)])]))
        // A payload without input gets one.
        #expect(RunPodClient.payload(.object([:]), have: [])["input"]?["model_sync"]?["have"] == .array([]))
    }

    @Test("headers merge runpod.headers, and the key replaces any configured Authorization")
    func headers() throws {
        let client = try RunPodClient(config: config(), apiKey: "k-123")
        let headers = client.headers
        #expect(headers.filter { $0.0.lowercased() == "authorization" }.map(\.1) == ["Bearer k-123"])
        #expect(headers.contains { $0 == ("X-Team", "bots") })
        #expect(headers.contains { $0 == ("Content-Type", "application/json") })
    }

    @Test("{job_id} is replaced and percent-encoded as one path segment")
    func expand() {
        #expect(RunPodClient.expand("https://h/v2/e/status/{job_id}", jobID: "abc-1") == "https://h/v2/e/status/abc-1")
        #expect(RunPodClient.expand("https://h/status/{job_id}", jobID: "a/b?c") == "https://h/status/a%2Fb%3Fc")
    }

    @Test("a FAILED job's error is decoded from the SDK's JSON string, an object, or kept as plain text")
    func errorText() throws {
        let sdk = #"{"error_type": "<class 'RuntimeError'>", "error_message": "CUDA out of memory", "error_traceback": "..."}"#
        #expect(RunPodJob.errorText(.string(sdk)) == "CUDA out of memory")
        #expect(RunPodJob.errorText(.object(["error_message": .string("disk full")])) == "disk full")
        #expect(RunPodJob.errorText(.string("plain words")) == "plain words")
        #expect(RunPodJob.errorText(.string("[1, 2]")) == "[1, 2]")
        #expect(RunPodJob.errorText(nil) == nil)
        #expect(RunPodJob.errorText(.null) == nil)
    }

    @Test("JSON answers decode with integers, booleans, nulls and nesting intact")
    func decode() throws {
        let value = try JSONValue.decode(Array(#"{"id":"j1","status":"COMPLETED","output":{"archive_size":123,"ok":true,"n":null,"l":[1.5]}}"#.utf8))
        #expect(value["output"]?["archive_size"]?.integerValue == 123)
        #expect(value["output"]?["ok"] == .bool(true))
        #expect(value["output"]?["n"] == .null)
        #expect(value["output"]?["l"] == .array([.number(1.5)]))
    }

    @Test("unknown statuses count as still running")
    func statuses() {
        #expect(RunPodJob.Status(rawValue: "IN_QUEUE").isFinal == false)
        #expect(RunPodJob.Status(rawValue: "PAUSED_BY_NEW_FEATURE").isFinal == false)
        #expect(RunPodJob.Status.timedOut.isFinal && RunPodJob.Status.cancelled.isFinal)
    }

    @Test("a client without trigger_url or status_url_template is a usage error")
    func missingURLs() {
        var incomplete = config()
        incomplete.statusURLTemplate = nil
        #expect(throws: UsageError.self) { try RunPodClient(config: incomplete, apiKey: "k") }
    }

    @Test("the have list falls back to the active set's objects past 8 MB of JSON")
    func haveListSize() {
        #expect(RunPodPuller.encodedSize(of: 1) == Array("[\"\(Digest.empty)\"]".utf8).count + 1)
        #expect(RunPodPuller.encodedSize(of: 100_000) <= RunPodPuller.maxHaveListBytes)
        #expect(RunPodPuller.encodedSize(of: 110_000) > RunPodPuller.maxHaveListBytes)
    }
}
