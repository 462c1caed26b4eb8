import Testing
@testable import ModelSyncKit

@Suite("runpod URLs: https, or http only to this machine unless allow_insecure_http")
struct RunPodURLConfigTests {
    func parse(_ runpod: String) throws -> Config {
        try Config.parse(yaml: "model_sync:\n  runpod:\n" + runpod, file: "bot.yaml", environment: [:])
    }

    @Test("a plain http:// API URL to another machine is refused with its key, line and a hint")
    func insecureRefused() throws {
        for (key, line) in [("trigger_url", 3), ("status_url_template", 4), ("cancel_url_template", 5)] {
            var urls = ["trigger_url": "https://api.runpod.ai/v2/e/run",
                        "status_url_template": "https://api.runpod.ai/v2/e/status/{job_id}",
                        "cancel_url_template": "https://api.runpod.ai/v2/e/cancel/{job_id}"]
            urls[key] = urls[key]!.replacingOccurrences(of: "https://api.runpod.ai", with: "http://api.runpod.ai")
            let yaml = ["trigger_url", "status_url_template", "cancel_url_template"]
                .map { "    \($0): \"\(urls[$0]!)\"\n" }.joined()
            let error = try #require(throws: ConfigError.self) { try parse(yaml) }
            #expect(error.message == "bot.yaml:\(line): model_sync.runpod.\(key): plain http:// to api.runpod.ai would send the API key unencrypted")
            #expect(error.hint == "use https://, or set model_sync.runpod.allow_insecure_http: true")
            #expect(error.category == .usage)
        }
    }

    @Test("http:// to loopback, or anywhere with allow_insecure_http: true, loads")
    func allowed() throws {
        let loopback = try parse("    trigger_url: http://localhost:8080/v2/e/run\n")
        #expect(loopback.runpod.allowInsecureHTTP == false)
        let allowed = try parse("    trigger_url: http://10.1.2.3/v2/e/run\n    allow_insecure_http: true\n")
        #expect(allowed.runpod.allowInsecureHTTP)
    }

    @Test("the RunPod clients carry the configured URL policy")
    func clientsCarryPolicy() throws {
        let config = try parse("    trigger_url: https://a.example/run\n    status_url_template: https://a.example/s/{job_id}\n")
        let client = try RunPodClient(config: config.runpod, apiKey: "k")
        #expect(client.http.urlPolicy == HTTPURLPolicy())
        var insecure = config.runpod
        insecure.allowInsecureHTTP = true
        #expect(try RunPodClient(config: insecure, apiKey: "k").http.urlPolicy.allowInsecureHTTP)
    }
}
