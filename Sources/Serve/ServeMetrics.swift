// The server's Prometheus metrics, in a registry of its own (not swift-metrics'
// global `MetricsSystem`), so that every server, and every test, counts alone.

import Prometheus
import Synchronization

public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let predictions: Counter
    private let outOfDomain: Counter
    /// The series of each route and status seen so far. The registry hands back the
    /// same series for the same name and labels, but finding it builds the name, the
    /// labels and their key under the registry's lock at every request, about 2% of
    /// a single prediction's server time (`perf record` under wrk).
    private let seriesByRoute = Mutex<[RouteStatus: RouteSeries]>([:])

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }

    private struct RouteSeries {
        var requests: Counter
        var duration: ValueHistogram
        /// Nil below status 400.
        var errors: Counter?
    }

    /// Latency buckets, in seconds: a prediction takes microseconds, a plan up to seconds.
    static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2, 10]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        predictions = registry.makeCounter(descriptor: Self.name("predictions", "total", "configurations predicted (plans count each combination)"))
        outOfDomain = registry.makeCounter(descriptor: Self.name("out_of_domain_predictions", "total", "predictions of configurations outside the model's domain"))
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "duet", subsystem: "serve", metricName: metric, unitName: unit, helpText: help)
    }

    /// One answered request: counted by route and status, timed by route, and counted
    /// as an error when its status is 400 or more.
    func request(route: String, status: Int, seconds: Double) {
        let key = RouteStatus(route: route, status: status)
        let series = seriesByRoute.withLock { known in
            if let series = known[key] { return series }
            let series = makeSeries(key)
            known[key] = series
            return series
        }
        series.requests.increment()
        series.duration.record(seconds)
        series.errors?.increment()
    }

    private func makeSeries(_ key: RouteStatus) -> RouteSeries {
        RouteSeries(
            requests: registry.makeCounter(descriptor: Self.name("requests", "total", "requests answered, by route and status"),
                                           labels: [("route", key.route), ("status", String(key.status))]),
            duration: registry.makeValueHistogram(descriptor: Self.name("request_duration", "seconds", "time to answer a request, by route"),
                                                  labels: [("route", key.route)], buckets: Self.latencyBuckets),
            errors: key.status < 400 ? nil
                : registry.makeCounter(descriptor: Self.name("request_errors", "total", "requests answered with status 400 or more, by route"),
                                       labels: [("route", key.route)]))
    }

    func predicted(rows: Int, outOfDomain: Int) {
        predictions.increment(by: Int64(rows))
        if outOfDomain > 0 { self.outOfDomain.increment(by: Int64(outOfDomain)) }
    }

    /// The Prometheus text exposition of every metric.
    public func text() -> String { registry.emitToString() }
}
