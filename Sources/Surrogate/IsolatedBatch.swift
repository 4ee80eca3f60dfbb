// The light-traffic limit of a chain, walked by hand: one arriving batch meets an
// empty, warm chain in which every service takes its mean.
//
// QNA sees each station's input as a renewal stream at the long-run job rate, so a
// station whose invocations gather jobs over a timeout is credited with jobs trickling
// in at that rate. Downstream of a station the jobs of one batch come in a train
// instead: all of a batch's invocations leave within a few service times, then nothing
// until the next batch. A station that gathers 5 jobs behind a station that passes
// them on one by one, 3 ms apart, waits about 12 ms for its invocation, not the 0.8
// gaps between batches that QNA's trickle takes (held-out point 223 of the light face:
// QNA 0.96 s for that station, simulated 0.53 s, this walk 0.48 s). In light traffic
// this walk is the station's response up to cold starts and service variability; the
// network (`SurrogateFeatures`, version 6) learns where it applies.

import Foundation
import Simulation

public enum IsolatedBatch {
    /// Each station's mean response per job (buffer wait, queue wait and service) for a
    /// batch that arrives at an empty, warm chain, services at their means, averaged over
    /// `representativeSizes` of the batch-size distribution (per job: a batch of x jobs
    /// counts x times). Jobs left in a buffer when the batch's train has passed are
    /// released after `timeout`, or after the mean gap between batches when that is
    /// shorter (by then the next batch would have filled the invocation). In `config`'s
    /// unit of time.
    public static func stationResponses(_ config: TandemConfig) -> [Double] {
        let gap = 1 / config.arrivalRate
        let sizes = representativeSizes(config.batch)
        // No station holds more groups, invocations or instances than a batch has jobs.
        var walk = Walk(stations: config.stations.count, capacity: sizes.reduce(1) { max($0, $1.size) })
        var jobs = 0.0
        for (size, weight) in sizes {
            walk.arrivals.removeAll(keepingCapacity: true)
            walk.arrivals.append(Group(time: 0, jobs: size))
            for (k, station) in config.stations.enumerated() {
                walk.responseSums[k] += weight * walk.pass(station, releaseCap: min(station.timeout, gap))
            }
            jobs += weight * Double(size)
        }
        return walk.responseSums.map { $0 / jobs }
    }

    /// Batch sizes standing for the batch-size distribution, with their probabilities:
    /// the size itself when it is fixed, otherwise the sizes at quantiles 1/6, 1/2 and
    /// 5/6 (an empirical distribution of at most three sizes as it is).
    static func representativeSizes(_ batch: BatchSizeSpec) -> [(size: Int, weight: Double)] {
        let quantiles = [1.0 / 6, 0.5, 5.0 / 6]
        switch batch {
        case .deterministic(let size):
            return [(max(1, size), 1)]
        case .uniform:
            // Equally likely sizes 1 ... n, as the simulator draws them.
            let n = batch.largest ?? 1
            return quantiles.map { q in (min(n, max(1, Int((q * Double(n)).rounded(.up)))), 1.0 / 3) }
        case .geometric(let mean):
            // P(X <= x) = 1 - p^x with p = 1 - 1 / mean.
            guard mean > 1 else { return [(1, 1)] }
            let logP = log(1 - 1 / mean)
            return quantiles.map { q in (max(1, Int((log(1 - q) / logP).rounded(.up))), 1.0 / 3) }
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            let sizes = zip(values, weights).filter { $0.1 > 0 }.sorted { $0.0 < $1.0 }
            if sizes.count <= quantiles.count { return sizes.map { (max(1, $0.0), $0.1 / total) } }
            return quantiles.map { q in
                var cumulative = 0.0
                let size = sizes.first { cumulative += $0.1 / total; return cumulative >= q - 1e-12 }?.0
                return (max(1, size ?? sizes.last!.0), 1.0 / 3)
            }
        }
    }

    /// Jobs that reach a station at one instant.
    struct Group {
        var time: Double
        var jobs: Int
    }

    /// The walk's state, its buffers kept from station to station and size to size.
    private struct Walk {
        var arrivals: [Group] = []
        var departures: [Group] = []
        var releases: [(time: Double, jobs: Int, arrivalSum: Double)] = []
        var freeAt: [Double] = []
        var responseSums: [Double]

        init(stations: Int, capacity: Int) {
            responseSums = [Double](repeating: 0, count: stations)
            arrivals.reserveCapacity(capacity)
            departures.reserveCapacity(capacity)
            releases.reserveCapacity(capacity)
            freeAt.reserveCapacity(capacity)
        }

        /// Runs `arrivals` (in time order) through `station`, leaving its departures in
        /// `arrivals` for the next station; returns the sum of the jobs' responses.
        mutating func pass(_ station: StationConfig, releaseCap: Double) -> Double {
            formInvocations(maxBatch: max(1, station.maxBatch), releaseCap: releaseCap)
            let service = station.service.mean, setup = station.setup
            // Invocations are released in time order and served first come, first served
            // by the earliest free of at most `servers` instances (a min-heap of free times).
            freeAt.removeAll(keepingCapacity: true)
            departures.removeAll(keepingCapacity: true)
            var responseSum = 0.0
            // With no more invocations than instances each finds its own: no heap to keep.
            let alone = releases.count <= station.servers
            for release in releases {
                let done: Double
                if alone || freeAt.count < station.servers {
                    // An instance this batch has not used yet is free at once.
                    done = release.time + setup + Double(release.jobs) * service
                    if !alone {
                        freeAt.append(done)
                        siftUp(freeAt.count - 1)
                    }
                } else {
                    done = max(release.time, freeAt[0]) + setup + Double(release.jobs) * service
                    freeAt[0] = done
                    siftDown(0)
                }
                responseSum += Double(release.jobs) * done - release.arrivalSum
                departures.append(Group(time: done, jobs: release.jobs))
            }
            departures.sort { $0.time < $1.time }
            swap(&arrivals, &departures)
            return responseSum
        }

        /// The batch buffer (MODEL.md): jobs join in arrival order; the buffer releases
        /// them when it holds `maxBatch`, or `releaseCap` after its oldest job arrived.
        mutating func formInvocations(maxBatch: Int, releaseCap: Double) {
            releases.removeAll(keepingCapacity: true)
            var held = 0, oldest = 0.0, arrivalSum = 0.0
            for group in arrivals {
                if held > 0 && group.time > oldest + releaseCap {
                    releases.append((oldest + releaseCap, held, arrivalSum))
                    held = 0
                    arrivalSum = 0
                }
                var jobs = group.jobs
                while jobs > 0 {
                    if held == 0 { oldest = group.time }
                    let taken = min(jobs, maxBatch - held)
                    held += taken
                    jobs -= taken
                    arrivalSum += Double(taken) * group.time
                    if held == maxBatch {
                        releases.append((group.time, held, arrivalSum))
                        held = 0
                        arrivalSum = 0
                    }
                }
                // With no wait allowed, what a group leaves is released at once.
                if held > 0 && releaseCap <= 0 {
                    releases.append((group.time, held, arrivalSum))
                    held = 0
                    arrivalSum = 0
                }
            }
            if held > 0 { releases.append((oldest + releaseCap, held, arrivalSum)) }
        }

        private mutating func siftUp(_ index: Int) {
            var child = index
            while child > 0 {
                let parent = (child - 1) / 2
                guard freeAt[child] < freeAt[parent] else { return }
                freeAt.swapAt(child, parent)
                child = parent
            }
        }

        private mutating func siftDown(_ index: Int) {
            var parent = index
            while true {
                var smallest = parent
                let left = 2 * parent + 1, right = left + 1
                if left < freeAt.count && freeAt[left] < freeAt[smallest] { smallest = left }
                if right < freeAt.count && freeAt[right] < freeAt[smallest] { smallest = right }
                guard smallest != parent else { return }
                freeAt.swapAt(smallest, parent)
                parent = smallest
            }
        }
    }
}
