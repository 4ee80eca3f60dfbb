import Testing
@testable import Surrogate
