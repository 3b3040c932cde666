@testable import Server
import Testing

/// Request metrics are labelled by route name: the routes' own names, and "other" for any
/// path that is not one (a label per path would let any request, refused ones too, add
/// metrics without bound).
@Suite struct RouteNameTests {
    @Test func routesHaveTheirNamesAndEverythingElseIsOther() {
        let named = [
            ("/health", "health"), ("/metrics", "metrics"), ("/v1/users/anna", "v1_user"),
            ("/v1/users/anna%40example.org/messages", "v1_messages"), ("/v1/users/u/expunge", "v1_expunge"),
            ("/v1/users/u/flags", "v1_flags"), ("/v1/users/u/mailboxes/rename", "v1_mailboxes_rename"),
            ("/v1/users/u/mailboxes/delete", "v1_mailboxes_delete"), ("/v1/users/u/search", "v1_search"),
            ("/v1/users/u/status", "v1_status"), ("/v1/users/u/release", "v1_release"),
            ("/v1/users/u/reopen", "v1_reopen"),
            ("/solr/dovecot/select", "solr_select"), ("/solr/any-core/update", "solr_update"),
        ]
        for (path, name) in named { #expect(ErrorAndMetricsMiddleware.routeName(path) == name, "\(path)") }
        for path in ["/", "", "/v1", "/v1/users", "/v1/users/u/searchX", "/v1/users/u/a/b/c", "/solr/x/y", "/solr/x",
                     "/healthz", "/\u{0}", "/v1/users/u/" + String(repeating: "x", count: 5_000)] {
            #expect(ErrorAndMetricsMiddleware.routeName(path) == "other", "\(path.prefix(40))")
        }
        #expect(Set(named.map(\.1)) == ErrorAndMetricsMiddleware.routeNames)
    }
}
