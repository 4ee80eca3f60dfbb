// JSON has no numbers for infinities and NaN, and Duet's files hold both (a keepAlive
// of inf, a MAPE before any epoch): every file Duet writes through Codable spells them
// "inf", "-inf" and "nan", as its CSV cells and YAML do.

import Foundation

extension JSONEncoder.NonConformingFloatEncodingStrategy {
    /// Infinities and NaN written as "inf", "-inf" and "nan".
    public static var infAndNanAsWords: Self {
        .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }
}

extension JSONDecoder.NonConformingFloatDecodingStrategy {
    /// "inf", "-inf" and "nan" read back as infinities and NaN.
    public static var infAndNanAsWords: Self {
        .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }
}
