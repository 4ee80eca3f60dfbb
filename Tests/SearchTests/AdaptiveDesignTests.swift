// The ranking behind adaptive points (`AdaptiveDesign.largest`): the positions of the
// largest spreads, hand-computed.

import Testing

@testable import Search

@Suite("Adaptive design")
struct AdaptiveDesignTests {
    @Test("the largest values' positions come back ascending; ties go to the earlier position")
    func largest() {
        let spreads = [0.1, 0.5, 0.2, 0.5, 0.05, 0.9]
        #expect(AdaptiveDesign.largest(spreads, count: 1) == [5])
        #expect(AdaptiveDesign.largest(spreads, count: 2) == [1, 5])  // 0.5 at 1 and 3: the earlier
        #expect(AdaptiveDesign.largest(spreads, count: 3) == [1, 3, 5])
        #expect(AdaptiveDesign.largest(spreads, count: 6) == [0, 1, 2, 3, 4, 5])
        #expect(AdaptiveDesign.largest(spreads, count: 10) == [0, 1, 2, 3, 4, 5])
        #expect(AdaptiveDesign.largest([], count: 3) == [])
    }
}
