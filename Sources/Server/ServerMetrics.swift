import Foundation
import Prometheus
import Synchronization

/// What `/metrics` exposes (Prometheus text format): requests by route and status, request
/// latency by route, indexing throughput, queue depth, open users, segments, errors.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(10),
    ]
    private let indexedDocuments: Counter
    private let indexingSeconds: Counter
    let queueDepth: Gauge
    let openUsers: Gauge
    let segments: Gauge
    let busySearches: Gauge

    init() {
        indexedDocuments = registry.makeCounter(descriptor: .init(namespace: "mailsift", metricName: "indexed_messages", unitName: "total",
                                                                  helpText: "Messages moved from the queue into segments"))
        indexingSeconds = registry.makeCounter(descriptor: .init(namespace: "mailsift", metricName: "indexing", unitName: "seconds_total",
                                                                 helpText: "Time the indexing workers spent draining queues"))
        queueDepth = registry.makeGauge(descriptor: .init(namespace: "mailsift", metricName: "queue_depth", unitName: "messages",
                                                          helpText: "Accepted messages not yet in a segment (open users)"))
        openUsers = registry.makeGauge(descriptor: .init(namespace: "mailsift", metricName: "open_users", unitName: "count",
                                                         helpText: "User indexes held open"))
        segments = registry.makeGauge(descriptor: .init(namespace: "mailsift", metricName: "segments", unitName: "count",
                                                        helpText: "Segments of the open users' indexes"))
        busySearches = registry.makeGauge(descriptor: .init(namespace: "mailsift", metricName: "searches_in_flight", unitName: "count",
                                                            helpText: "Searches running now"))
    }

    func request(route: String, status: Int, duration: Duration) {
        // The registry looks a metric up by its name and labels (building the name each
        // time): done once per route and status, the metrics kept here.
        let key = RouteStatus(route: route, status: status)
        let known = requestMetrics.withLock { $0[key] }
        let (counter, histogram) = known ?? {
            let made = (registry.makeCounter(descriptor: .init(namespace: "mailsift", metricName: "http_requests", unitName: "total",
                                                               helpText: "HTTP requests"),
                                             labels: [("route", route), ("status", String(status))]),
                        registry.makeDurationHistogram(descriptor: .init(namespace: "mailsift", metricName: "http_request_duration",
                                                                         unitName: "seconds", helpText: "HTTP request latency"),
                                                       labels: [("route", route)], buckets: buckets))
            // Route names are a fixed set (`routeName`) and statuses a few: bounded.
            requestMetrics.withLock { $0[key] = made }
            return made
        }()
        counter.increment()
        histogram.record(duration)
    }

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }

    private let requestMetrics = Mutex<[RouteStatus: (Counter, DurationHistogram)]>([:])

    func indexed(_ n: Int, seconds: Double) {
        indexedDocuments.increment(by: Int64(n))
        indexingSeconds.increment(by: seconds)
    }

    func error(_ kind: String) {
        registry.makeCounter(descriptor: .init(namespace: "mailsift", metricName: "errors", unitName: "total", helpText: "Errors by kind"),
                             labels: [("kind", kind)]).increment()
    }

    func merged() {
        registry.makeCounter(descriptor: .init(namespace: "mailsift", metricName: "merges", unitName: "total", helpText: "Segment merges")).increment()
    }

    func render() -> String { registry.emitToString() }
}
