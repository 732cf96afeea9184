extension String {
    /// The text a C helper wrote into `buffer`: its bytes up to the first NUL (all of them if none).
    package init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
