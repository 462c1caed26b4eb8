import Foundation

extension OCIAuthenticator {
    /// Asks the token endpoint for a token on `scopes`: the OAuth2 refresh-token `POST` when the credentials
    /// hold an identity token, else `GET realm?service=…&scope=…` with HTTP Basic credentials when there are
    /// any (the distribution token protocol; anonymous for public pulls).
    func requestToken(endpoint: TokenEndpoint, scopes: [String]) throws(OCIAuthError) -> OCIToken {
        let request = tokenRequest(endpoint: endpoint, scopes: scopes)
        let response: HTTPResponse
        do throws(HTTPError) {
            response = try http.send(request)
        } catch {
            throw OCIAuthError(.tokenEndpoint,
                               "cannot get a token for \(scopes.joined(separator: " ")) of registry \(registry) from "
                                   + "\(HTTPError.redact(endpoint.realm)): \(scrub(error.message))",
                               hint: error.hint ?? "check the network and the registry's token service")
        }
        switch response.status {
        case 200..<300:
            guard let token = OCIToken(answer: response.body, now: now()) else {
                throw OCIAuthError(.invalidTokenResponse,
                                   "the token endpoint \(HTTPError.redact(endpoint.realm)) of registry \(registry) "
                                       + "answered without a token (no \"token\" or \"access_token\" string)",
                                   hint: "check that oci.reference names a registry and its token service works")
            }
            return token
        case 401, 403:
            let who = credentials.map { "the credentials of \($0)" } ?? "an anonymous token"
            throw OCIAuthError(.refused,
                               "the token endpoint \(HTTPError.redact(endpoint.realm)) of registry \(registry) refused "
                                   + "\(who) for \(scopes.joined(separator: " ")): HTTP \(response.status)"
                                   + serverSaid(response.body),
                               hint: OCIAuthError.loginHint(registry: registry, credentials: credentials))
        default:
            throw OCIAuthError(.tokenEndpoint,
                               "the token endpoint \(HTTPError.redact(endpoint.realm)) of registry \(registry) answered "
                                   + "HTTP \(response.status) for \(scopes.joined(separator: " "))" + serverSaid(response.body),
                               hint: "the registry's token service failed; try again later")
        }
    }

    /// The request for a token: OAuth2 `POST` for an identity token, else `GET` with the query.
    func tokenRequest(endpoint: TokenEndpoint, scopes: [String]) -> HTTPRequest {
        var parameters: [(String, String)] = []
        if let service = endpoint.service { parameters.append(("service", service)) }
        if let identityToken = credentials?.identityToken {
            parameters += [("grant_type", "refresh_token"), ("client_id", "model-sync"),
                           ("refresh_token", identityToken), ("scope", scopes.joined(separator: " "))]
            return HTTPRequest(method: "POST", url: endpoint.realm,
                               headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: Array(Self.formEncoded(parameters).utf8))
        }
        for scope in scopes { parameters.append(("scope", scope)) }
        var headers: [(String, String)] = []
        if let credentials, !credentials.password.isEmpty {
            parameters.append(("account", credentials.username))
            headers.append(("Authorization", credentials.basicAuthorization))
        }
        let separator = endpoint.realm.contains("?") ? "&" : "?"
        return HTTPRequest(url: endpoint.realm + separator + Self.formEncoded(parameters), headers: headers)
    }

    /// `name=value&…`, each part percent-encoded but for the unreserved characters (RFC 3986).
    static func formEncoded(_ parameters: [(String, String)]) -> String {
        // Spelt out: CharacterSet.alphanumerics would leave non-ASCII letters unencoded.
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        return parameters.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }

    /// ` (the server's words)`: the `errors[].message` (distribution), `details` (Docker Hub) or
    /// `error_description` (OAuth2) of an error body, else its first line; scrubbed, at most 200 characters.
    func serverSaid(_ body: [UInt8]) -> String {
        var words: [String] = []
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            for error in object["errors"] as? [[String: Any]] ?? [] {
                words.append([error["code"] as? String, error["message"] as? String].compactMap { $0 }.joined(separator: ": "))
            }
            for key in ["details", "error_description", "error"] { if let text = object[key] as? String { words.append(text) } }
        } else if let line = String(decoding: body.prefix(400), as: UTF8.self).split(whereSeparator: \.isNewline).first {
            words.append(String(line))
        }
        let text = scrub(words.filter { !$0.isEmpty }.joined(separator: "; ")).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? "" : " (\(text.prefix(200)))"
    }

    /// `text` without the credentials' secrets nor any registered secret.
    func scrub(_ text: String) -> String {
        SecretScrubber.shared.scrub(credentials?.scrub(text) ?? text)
    }
}
