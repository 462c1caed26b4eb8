import Foundation
import ModelSyncKit
import Testing

@Suite("the daemon's /metrics endpoint")
struct MetricsEndpointTests {
    @Test("host:port parses as an IPv4 address and a port; anything else is refused", arguments: [
        ("127.0.0.1:9464", "127.0.0.1:9464"), (":9464", "0.0.0.0:9464"), ("0.0.0.0:1", "0.0.0.0:1"),
        ("localhost:9464", nil), ("127.0.0.1", nil), ("127.0.0.1:0", nil), ("127.0.0.1:65536", nil),
        ("1.2.3:80", nil), ("256.0.0.1:80", nil), ("[::1]:80", nil), ("127.0.0.1:-1", nil),
    ] as [(String, String?)])
    func parsing(_ example: (String, String?)) {
        #expect(ListenAddress(parsing: example.0)?.description == example.1)
    }

    @Test("GET /metrics serves the last text given; other paths are 404; stop closes the port")
    func serves() throws {
        // Port 0 is refused by the parser (a configuration must name its port); the test lets the system pick.
        let endpoint = try MetricsEndpoint(listeningOn: try #require(ListenAddress(parsing: "127.0.0.1:1")).withPort(0))
        let base = "http://127.0.0.1:\(endpoint.address.port)"
        endpoint.update("model_sync_up 1\n")
        #expect(try httpGet(base + "/metrics") == (200, "model_sync_up 1\n"))
        endpoint.update("model_sync_up 2\n")
        #expect(try httpGet(base + "/metrics?x=1").body == "model_sync_up 2\n")
        #expect(try httpGet(base + "/").status == 404)
        endpoint.stop()
        #expect(try httpGet(base + "/metrics").status == 0)
    }

    @Test("a taken port is a usage error naming daemon.metrics_listen")
    func takenPort() throws {
        let first = try MetricsEndpoint(listeningOn: try #require(ListenAddress(parsing: "127.0.0.1:1")).withPort(0))
        defer { first.stop() }
        #expect {
            _ = try MetricsEndpoint(listeningOn: first.address)
        } throws: { error in
            (error as? UsageError)?.message.contains("model_sync.daemon.metrics_listen") == true
        }
    }

    @Test("the active set is an info metric labelled with manifest, generation, role and host")
    func activeManifestInfo() throws {
        var metrics = DaemonMetrics()
        metrics.host = "bot-\"1\""
        let digest = try Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
        metrics.active = .init(generation: 7, manifest: digest)
        let text = metrics.render(role: .client)
        #expect(text.contains("model_sync_active_manifest_info{manifest=\"\(digest)\",generation=\"7\",role=\"client\",host=\"bot-\\\"1\\\"\"} 1"))
        #expect(text.contains("model_sync_active_generation{role=\"client\"} 7"))
        #expect(!DaemonMetrics().render(role: .client).contains("model_sync_active_manifest_info"))
    }
}
