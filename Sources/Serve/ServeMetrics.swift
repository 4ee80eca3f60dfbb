// The server's Prometheus metrics, in a registry of its own (not swift-metrics'
// global `MetricsSystem`), so that every server, and every test, counts alone.

import Prometheus

public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let predictions: Counter
    private let outOfDomain: Counter

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
        registry.makeCounter(descriptor: Self.name("requests", "total", "requests answered, by route and status"),
                             labels: [("route", route), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.name("request_duration", "seconds", "time to answer a request, by route"),
                                    labels: [("route", route)], buckets: Self.latencyBuckets).record(seconds)
        if status >= 400 {
            registry.makeCounter(descriptor: Self.name("request_errors", "total", "requests answered with status 400 or more, by route"),
                                 labels: [("route", route)]).increment()
        }
    }

    func predicted(rows: Int, outOfDomain: Int) {
        predictions.increment(by: Int64(rows))
        if outOfDomain > 0 { self.outOfDomain.increment(by: Int64(outOfDomain)) }
    }

    /// The Prometheus text exposition of every metric.
    public func text() -> String { registry.emitToString() }
}
