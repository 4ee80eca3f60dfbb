import Foundation
import Search
import Simulation

/// A pipeline file's `heldOut:` section: points of the sweep's space drawn with another
/// design seed, simulated as the sweep's are and used only to judge the best model. The
/// search's test rows come from the dataset it trains on, so they follow however that
/// dataset chose its points (`adaptive:` picks the ones its ensembles found hard); these
/// are a sample of the space of their own, which judges pipelines of either kind alike.
struct HeldOutSpec: Equatable {
    var points: Int
    /// Absent: the sweep's design seed + 1.
    var seed: UInt64?

    static let keys = ["points", "seed"]

    static func parse(_ node: ConfigNode) throws -> HeldOutSpec {
        let section = try node.mapping(allowedKeys: keys)
        return HeldOutSpec(points: try section.int("points", .atLeast(1)), seed: try section.uint64IfPresent("seed"))
    }

    /// The sweep's spec with this sample's design: the same space, method and run settings.
    func spec(of sweep: SweepSpec, pipeline: String) throws -> SweepSpec {
        let seed = self.seed ?? sweep.design.seed &+ 1
        guard seed != sweep.design.seed else {
            throw CLIError("\(pipeline): heldOut.seed: \(seed) is the sweep's own design seed, which would draw the "
                           + "sweep's points again; give another seed")
        }
        var spec = sweep
        spec.design.points = points
        spec.design.seed = seed
        return spec
    }
}
