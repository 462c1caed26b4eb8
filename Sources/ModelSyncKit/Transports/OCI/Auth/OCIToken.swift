import Foundation

/// A registry token from a token endpoint's answer (the distribution token protocol), with when to refresh it
/// and when it expires.
///
/// The answer carries `token` (docker) or `access_token` (OAuth2), and `expires_in` seconds, 60 when absent
/// as the protocol says. The lifetime counts from when the answer arrived here, not from its `issued_at`: a
/// client whose clock is off would otherwise keep expired tokens, or refresh every token at once.
struct OCIToken: Sendable {
    /// The token, sent as `Authorization: Bearer <value>`.
    let value: String
    /// From then on, a request fetches a fresh token first (before the registry would refuse this one).
    let refreshAt: Date
    /// After then the token is not sent at all.
    let expiresAt: Date

    /// The lifetime the protocol gives a token whose answer names none.
    static let defaultLifetime: Double = 60
    /// A token is refreshed this long before it expires, or after half its life when that is shorter.
    static let refreshMargin: Double = 30

    /// Parses a token endpoint's JSON answer received at `now`; nil when it holds no usable token.
    init?(answer bytes: [UInt8], now: Date) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        let token = (object["token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            ?? (object["access_token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        // A token goes into a header: anything but visible ASCII would corrupt the request or inject a header.
        guard let token, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        var lifetime = Self.defaultLifetime
        if let seconds = (object["expires_in"] as? NSNumber)?.doubleValue, seconds.isFinite, seconds > 0 {
            lifetime = min(seconds, 366 * 86400)
        }
        value = token
        expiresAt = now.addingTimeInterval(lifetime)
        refreshAt = now.addingTimeInterval(lifetime - min(Self.refreshMargin, lifetime / 2))
    }

    /// Whether the token may still be sent at `now`.
    func isUsable(at now: Date) -> Bool { now < expiresAt }

    /// Whether the token should be replaced before it is sent at `now`.
    func needsRefresh(at now: Date) -> Bool { now >= refreshAt }
}
