import Testing
@testable import ModelSyncKit

@Suite("WWW-Authenticate challenges")
struct OCIChallengeTests {
    @Test("a Bearer challenge gives its realm, service and scope")
    func bearer() {
        let challenges = OCIChallenge.parse(
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/models:pull""#)
        #expect(challenges.count == 1)
        #expect(challenges[0].isBearer)
        #expect(challenges[0].realm == "https://auth.example/token")
        #expect(challenges[0].service == "registry.example")
        #expect(challenges[0].scopes == ["repository:org/models:pull"])
    }

    @Test("commas and spaces inside quotes stay in the value; a scope may name several scopes")
    func quotedCommas() {
        let challenges = OCIChallenge.parse(
            #"Bearer realm="https://a/token",scope="repository:x/y:pull,push repository:z:pull",error="insufficient_scope""#)
        #expect(challenges.count == 1)
        #expect(challenges[0].scopes == ["repository:x/y:pull,push", "repository:z:pull"])
        #expect(challenges[0].error == "insufficient_scope")
    }

    @Test("several challenges in one header, and repeated headers joined with a comma, are all found")
    func several() {
        let challenges = OCIChallenge.parse(#"Bearer realm="https://a/token",service="s", Basic realm="registry""#)
        #expect(challenges.map(\.scheme) == ["bearer", "basic"])
        #expect(challenges[0].service == "s")
        #expect(challenges[1].realm == "registry")
        let reversed = OCIChallenge.parse(#"Basic realm="r", Bearer realm="https://a/token""#)
        #expect(reversed.map(\.scheme) == ["basic", "bearer"])
    }

    @Test("schemes and parameter names are case-insensitive; blanks around = and commas are allowed")
    func caseAndBlanks() {
        let challenges = OCIChallenge.parse(#"BEARER Realm = "https://a/token" ,  SERVICE="svc""#)
        #expect(challenges.count == 1)
        #expect(challenges[0].isBearer)
        #expect(challenges[0].realm == "https://a/token")
        #expect(challenges[0].service == "svc")
    }

    @Test("backslash escapes inside quoted strings are read, unquoted tokens are values too")
    func escapes() {
        let challenges = OCIChallenge.parse(#"Basic realm="the \"models\" registry", charset=UTF-8"#)
        #expect(challenges.count == 1)
        #expect(challenges[0].realm == #"the "models" registry"#)
        #expect(challenges[0].parameters["charset"] == "UTF-8")
    }

    @Test("a token68 challenge is one value, and the challenge after it is still found")
    func token68() {
        let challenges = OCIChallenge.parse(#"Negotiate YWJj==, Basic realm="r""#)
        #expect(challenges.map(\.scheme) == ["negotiate", "basic"])
        #expect(challenges[0].token68 == "YWJj==")
        #expect(challenges[1].realm == "r")
    }

    @Test("empty and malformed headers give no challenge rather than a crash")
    func malformed() {
        #expect(OCIChallenge.parse("").isEmpty)
        #expect(OCIChallenge.parse(" , ,").isEmpty)
        let unterminated = OCIChallenge.parse(#"Bearer realm="https://a/token"#)
        #expect(unterminated.first?.realm == "https://a/token")
        #expect(OCIChallenge.parse("Bearer").first?.parameters.isEmpty == true)
    }

    @Test("a repeated parameter keeps its first value")
    func repeated() {
        let challenges = OCIChallenge.parse(#"Bearer realm="https://good/token",realm="https://evil/token""#)
        #expect(challenges.first?.realm == "https://good/token")
    }
}
